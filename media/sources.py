"""What a headless participant sends: a source makes fresh tracks for each peer connection.

Every peer connection gets its own tracks (and stops them when it closes), so a
new connection starts its clocks at zero instead of catching up on the time the
tracks sat unread between two connections. When the call goes back to video
after audio-only, the camera restarts: the source makes a fresh video track alone.
"""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import Any, Protocol

from aiortc.contrib.media import MediaPlayer
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from av.frame import Frame
from av.packet import Packet

from media.synthetic import ScrollingBars, SyntheticAudioTrack, SyntheticVideoTrack

__all__ = ["MediaFileSource", "SyntheticSource", "TrackSource"]


class TrackSource(Protocol):
    """Makes the local tracks (audio and/or video) for one new peer connection."""

    def create_tracks(self) -> list[MediaStreamTrack]: ...

    def create_video_track(self) -> MediaStreamTrack | None:
        """A fresh video track alone (the camera turned back on); ``None`` for a source without video."""
        ...


class SyntheticSource:
    """A sine tone and scrolling colour bars; the pattern is drawn once and shared by all tracks."""

    def __init__(
        self, *, width: int = 640, height: int = 480, fps: float = 30.0, tone_hz: float = 440.0
    ) -> None:
        self._pattern = ScrollingBars(width, height)
        self._fps = fps
        self._tone_hz = tone_hz

    def create_tracks(self) -> list[MediaStreamTrack]:
        return [SyntheticAudioTrack(frequency_hz=self._tone_hz), self.create_video_track()]

    def create_video_track(self) -> MediaStreamTrack:
        return SyntheticVideoTrack(self._pattern, fps=self._fps)


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

    def create_video_track(self) -> MediaStreamTrack | None:
        """The file's video from the beginning, on a player of its own; its audio is read and dropped."""
        player = MediaPlayer(str(self.path), loop=self._loop)
        if player.video is None:
            if player.audio is not None:
                player.audio.stop()
            return None
        return player.video if player.audio is None else _VideoOfPlayer(player.video, player.audio)


class _VideoOfPlayer(MediaStreamTrack):
    """A player's video track whose audio track is drained (a ``MediaPlayer`` queues every decoded frame
    of both tracks, so an unread audio track would grow without bound)."""

    kind = "video"

    def __init__(self, video: MediaStreamTrack, audio: MediaStreamTrack) -> None:
        super().__init__()
        self._video, self._audio = video, audio
        self._drain: asyncio.Task[None] | None = None

    async def recv(self) -> Frame | Packet[Any]:
        if self._drain is None:
            self._drain = asyncio.create_task(self._drop_audio(), name="duet-file-audio-drain")
        return await self._video.recv()

    def stop(self) -> None:
        super().stop()
        if self._drain is not None:
            self._drain.cancel()
        self._audio.stop()
        self._video.stop()

    async def _drop_audio(self) -> None:
        with contextlib.suppress(MediaStreamError):
            while True:
                await self._audio.recv()
