"""What a headless participant sends: a source makes fresh tracks for each peer connection.

Every peer connection gets its own tracks (and stops them when it closes), so a
new connection starts its clocks at zero instead of catching up on the time the
tracks sat unread between two connections.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from aiortc.contrib.media import MediaPlayer
from aiortc.mediastreams import MediaStreamTrack

from media.synthetic import ScrollingBars, SyntheticAudioTrack, SyntheticVideoTrack

__all__ = ["MediaFileSource", "SyntheticSource", "TrackSource"]


class TrackSource(Protocol):
    """Makes the local tracks (audio and/or video) for one new peer connection."""

    def create_tracks(self) -> list[MediaStreamTrack]: ...


class SyntheticSource:
    """A sine tone and scrolling colour bars; the pattern is drawn once and shared by all tracks."""

    def __init__(
        self, *, width: int = 640, height: int = 480, fps: float = 30.0, tone_hz: float = 440.0
    ) -> None:
        self._pattern = ScrollingBars(width, height)
        self._fps = fps
        self._tone_hz = tone_hz

    def create_tracks(self) -> list[MediaStreamTrack]:
        return [
            SyntheticAudioTrack(frequency_hz=self._tone_hz),
            SyntheticVideoTrack(self._pattern, fps=self._fps),
        ]


class MediaFileSource:
    """Plays a media file (anything FFmpeg reads) through :class:`aiortc.contrib.media.MediaPlayer`.

    Each peer connection opens its own player, so playback starts from the beginning;
    with ``loop`` the file repeats for as long as the connection lasts.
    """

    def __init__(self, path: str | Path, *, loop: bool = True) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise FileNotFoundError(f"media file {str(self.path)!r} does not exist or is not a file")
        self._loop = loop

    def create_tracks(self) -> list[MediaStreamTrack]:
        player = MediaPlayer(str(self.path), loop=self._loop)
        tracks = [track for track in (player.audio, player.video) if track is not None]
        if not tracks:
            raise ValueError(f"media file {str(self.path)!r} has neither audio nor video")
        return tracks
