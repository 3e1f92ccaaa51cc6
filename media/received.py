"""What a headless participant receives: frame counts, first-frame times, video sizes, freezes.

aiortc's ``getStats`` has no frame counters, so the participant reads every
remote track itself: each ``track.recv()`` is one decoded frame. Counts for the
whole session live in :class:`ReceivedMedia`; each peer connection also keeps its
own :class:`InboundCounters`, which its ``stats`` reports carry (webrtc-stats
counters start again with every ``RTCPeerConnection``).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Literal

from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from av import AudioFrame, VideoFrame

from media.freeze_counter import FreezeCounter

__all__ = ["InboundCounters", "MediaKind", "ReceivedMedia"]

MediaKind = Literal["audio", "video"]

_log = logging.getLogger(__name__)


class InboundCounters:
    """What one peer connection received, counted frame by frame (the fields aiortc's getStats lacks)."""

    __slots__ = ("audio_frames", "freezes", "total_samples_received", "video_frames")

    def __init__(self) -> None:
        self.video_frames = 0
        """Decoded video frames (``framesDecoded``)."""
        self.audio_frames = 0
        self.total_samples_received = 0
        """Decoded audio samples per channel (``totalSamplesReceived``; 960 per 20 ms frame at 48 kHz)."""
        self.freezes = FreezeCounter()
        """``freezeCount`` / ``totalFreezesDuration`` of the received video."""

    def count(self, kind: MediaKind, frame: object, at: float) -> None:
        """One decoded frame of ``kind`` arrived at ``at`` (seconds, monotonic)."""
        if kind == "video":
            self.video_frames += 1
            self.freezes.add_frame(at)
        else:
            self.audio_frames += 1
            if isinstance(frame, AudioFrame):
                self.total_samples_received += frame.samples


class ReceivedMedia:
    """Counts the frames of every remote track it consumes, across peer connections."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._frames: dict[MediaKind, int] = {"audio": 0, "video": 0}
        self._first_frame_at: dict[MediaKind, float] = {}
        self._video_sizes: list[tuple[int, int]] = []
        self._video_size: tuple[int, int] | None = None
        self._last_frame_at: dict[MediaKind, float] = {}
        self._longest_gap: dict[MediaKind, tuple[float, float]] = {}
        self._waiters: list[tuple[MediaKind, int, asyncio.Future[None]]] = []

    def consume(self, track: MediaStreamTrack, counters: InboundCounters | None = None) -> asyncio.Task[None]:
        """Start reading ``track`` until it ends, counting into ``counters`` too (one peer connection's).

        The caller owns (and eventually cancels) the task.
        """
        if track.kind not in ("audio", "video"):
            raise ValueError(f"expected an 'audio' or 'video' track, got kind {track.kind!r}")
        return asyncio.create_task(self._read(track, counters), name=f"duet-receive-{track.kind}")

    def frames(self, kind: MediaKind) -> int:
        """Frames received so far on all ``kind`` tracks."""
        return self._frames[kind]

    def first_frame_at(self, kind: MediaKind) -> float | None:
        """Clock reading (seconds) when the first ``kind`` frame arrived, if one has."""
        return self._first_frame_at.get(kind)

    def last_frame_at(self, kind: MediaKind) -> float | None:
        """Clock reading (seconds) of the latest ``kind`` frame, if one has arrived."""
        return self._last_frame_at.get(kind)

    def longest_gap(self, kind: MediaKind) -> tuple[float, float] | None:
        """The longest time between two ``kind`` frames: ``(seconds, clock reading when it ended)``."""
        return self._longest_gap.get(kind)

    @property
    def video_size(self) -> tuple[int, int] | None:
        """(width, height) of the latest video frame."""
        return self._video_size

    @property
    def video_sizes(self) -> list[tuple[int, int]]:
        """Every distinct (width, height) seen, in order of first appearance."""
        return list(self._video_sizes)

    async def wait_frames(self, kind: MediaKind, count: int) -> None:
        """Return once at least ``count`` ``kind`` frames have arrived (bound it with a timeout)."""
        if self._frames[kind] >= count:
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        entry = (kind, count, future)
        self._waiters.append(entry)
        try:
            await future
        finally:
            if entry in self._waiters:
                self._waiters.remove(entry)

    async def _read(self, track: MediaStreamTrack, counters: InboundCounters | None) -> None:
        kind: MediaKind = "video" if track.kind == "video" else "audio"
        while True:
            try:
                frame = await track.recv()
            except MediaStreamError:
                _log.debug("remote %s track %s ended", kind, track.id)
                return
            now = self._clock()
            if counters is not None:
                counters.count(kind, frame, now)
            self._count(kind, frame, now)

    def _count(self, kind: MediaKind, frame: object, now: float) -> None:
        self._frames[kind] += 1
        self._first_frame_at.setdefault(kind, now)
        previous = self._last_frame_at.get(kind)
        if previous is not None and now - previous > self._longest_gap.get(kind, (0.0, 0.0))[0]:
            self._longest_gap[kind] = (now - previous, now)
        self._last_frame_at[kind] = now
        if isinstance(frame, VideoFrame):
            size = (frame.width, frame.height)
            self._video_size = size
            if size not in self._video_sizes:
                self._video_sizes.append(size)
        if self._waiters:
            for waiting_kind, count, future in list(self._waiters):
                if waiting_kind == kind and self._frames[kind] >= count and not future.done():
                    future.set_result(None)
