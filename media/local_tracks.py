"""The tracks a peer connection sends for its whole life, switched by the call mode without renegotiating.

aiortc's sender reads one track in a loop. :class:`CameraTrack` stands between it and the camera
(the source's video track): while the camera is off, ``recv`` waits, so not one video RTP packet
leaves while audio goes on, and the SDP never changes. That is what the browser gets with
``sender.replaceTrack(null)``; the headless participant does it inside its own track rather than
through aiortc's ``replaceTrack``, because aiortc's sender may be blocked inside the old track's
``recv`` when the track is swapped and resumes only when that call returns (never, for a stopped
``MediaPlayer`` track). :class:`MicrophoneTrack` sends silence while muted (the ``phone`` mode),
as a browser's disabled audio track does: packets keep flowing, so the link stays measurable.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from aiortc.mediastreams import VIDEO_CLOCK_RATE, VIDEO_TIME_BASE, MediaStreamError, MediaStreamTrack
from av import AudioFrame
from av.frame import Frame
from av.packet import Packet

__all__ = ["CameraTrack", "MicrophoneTrack"]


class CameraTrack(MediaStreamTrack):
    """The sent video: the current camera track, or nothing while the camera is off.

    ``switch_off()`` stops the camera track (the camera light goes off); ``switch_on(track)`` starts
    sending a fresh one. Timestamps go on across the gap: the first frame of a new camera is stamped
    with the time elapsed since the last frame sent (``clock``, seconds), so the RTP timestamps a
    receiver sees never go back, as with a browser's capture timestamps.
    """

    kind = "video"

    def __init__(
        self, camera: MediaStreamTrack | None, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        super().__init__()
        if camera is not None and camera.kind != "video":
            raise ValueError(f"expected a 'video' track for the camera, got kind {camera.kind!r}")
        self._camera = camera
        self._clock = clock
        self._switched = asyncio.Event()
        self._pending: asyncio.Future[Frame | Packet[Any]] | None = None
        self._offset: int | None = None
        """90 kHz ticks added to the current camera's own timestamps."""
        self._last_pts: int | None = None
        self._last_at: float | None = None
        self.frames_sent = 0
        """Frames handed to the encoder, over every camera (``framesSent``)."""

    @property
    def camera_on(self) -> bool:
        """Whether a camera is feeding the track."""
        return self._camera is not None and self.readyState == "live"

    def switch_on(self, camera: MediaStreamTrack) -> None:
        """Send ``camera`` (a fresh video track) from now on; a camera already on is stopped first."""
        if camera.kind != "video":
            raise ValueError(f"expected a 'video' track for the camera, got kind {camera.kind!r}")
        if self.readyState != "live":
            camera.stop()
            raise MediaStreamError("the camera track has ended; it cannot be switched on")
        self.switch_off()
        self._camera, self._offset = camera, None
        self._switched.set()

    def switch_off(self) -> None:
        """Stop the camera; the sender then waits, sending nothing, until :meth:`switch_on`."""
        camera, self._camera = self._camera, None
        if self._pending is not None:
            self._pending.cancel()
        if camera is not None:
            camera.stop()

    def stop(self) -> None:
        super().stop()
        self.switch_off()
        self._switched.set()  # a waiting recv wakes up and ends

    async def recv(self) -> Frame | Packet[Any]:
        """The next camera frame, on one continuous 90 kHz timeline; waits while the camera is off."""
        while True:
            if self.readyState != "live":
                raise MediaStreamError
            camera = self._camera
            if camera is None:
                self._switched.clear()
                await self._switched.wait()
                continue
            pending = self._pending = asyncio.ensure_future(camera.recv())
            try:
                await asyncio.wait([pending])
            finally:
                self._pending = None
                pending.cancel()  # no-op when done; ends the camera read when we are cancelled
            if pending.cancelled() or camera is not self._camera:
                if not pending.cancelled():
                    pending.exception()  # a frame from a camera switched off meanwhile: dropped
                continue
            return self._stamp(pending.result())  # MediaStreamError: the camera itself ended

    def _stamp(self, frame: Frame | Packet[Any]) -> Frame | Packet[Any]:
        time_base = frame.time_base or VIDEO_TIME_BASE
        own = 0 if frame.pts is None else round(frame.pts * time_base * VIDEO_CLOCK_RATE)
        now = self._clock()
        pts = None if self._offset is None else own + self._offset
        if pts is None or (self._last_pts is not None and pts <= self._last_pts):
            # A new camera, or one whose own clock went back (a looping file): continue from the last frame.
            start = 0
            if self._last_pts is not None and self._last_at is not None:
                start = self._last_pts + max(1, round((now - self._last_at) * VIDEO_CLOCK_RATE))
            self._offset = start - own
            pts = start
        frame.pts, frame.time_base = pts, VIDEO_TIME_BASE
        self._last_pts, self._last_at = pts, now
        self.frames_sent += 1
        return frame


class MicrophoneTrack(MediaStreamTrack):
    """The sent audio: the microphone's frames, or silence of the same shape while ``muted``."""

    kind = "audio"

    def __init__(self, microphone: MediaStreamTrack) -> None:
        super().__init__()
        if microphone.kind != "audio":
            raise ValueError(f"expected an 'audio' track for the microphone, got kind {microphone.kind!r}")
        self._microphone = microphone
        self.muted = False

    def stop(self) -> None:
        super().stop()
        self._microphone.stop()

    async def recv(self) -> Frame | Packet[Any]:
        if self.readyState != "live":
            raise MediaStreamError
        frame = await self._microphone.recv()
        if self.muted and isinstance(frame, AudioFrame):
            return _silence_like(frame)
        return frame


def _silence_like(frame: AudioFrame) -> AudioFrame:
    silent = AudioFrame(format=frame.format.name, layout=frame.layout.name, samples=frame.samples)
    for plane in silent.planes:
        plane.update(bytes(plane.buffer_size))
    silent.pts, silent.time_base, silent.sample_rate = frame.pts, frame.time_base, frame.sample_rate
    return silent
