"""Synthetic media tracks: a scrolling colour-bar video and a sine tone.

Both tracks are paced in real time against a monotonic clock, like a camera
and a microphone: frame ``n`` is released ``n`` periods after the first one.
After a stall (a busy event loop, nobody reading between two peer
connections) a track skips ahead instead of bursting the missed frames, so
the ``pts`` stays honest about elapsed time.

CPU: the video pattern is drawn once, as YUV 4:2:0 planes twice the frame
width; every frame is a window of it (one 460 KB copy for 640x480, ~0.2 ms),
handed to the encoder in its native ``yuv420p`` so no colour conversion runs.
"""

from __future__ import annotations

import asyncio
import fractions
import math
import time
from collections.abc import Callable

import numpy as np
import numpy.typing as npt
from aiortc.mediastreams import (
    VIDEO_CLOCK_RATE,
    VIDEO_TIME_BASE,
    AudioStreamTrack,
    MediaStreamError,
    VideoStreamTrack,
)
from av import AudioFrame, VideoFrame

__all__ = ["FramePacer", "ScrollingBars", "SyntheticAudioTrack", "SyntheticVideoTrack"]

_U8 = npt.NDArray[np.uint8]

# 75% colour bars (white, yellow, cyan, green, magenta, red, blue, black) as
# BT.601 limited-range Y, Cb, Cr: ITU-R BT.801-1 (the EBU bars) table 1.
_BARS_YUV = (
    (180, 128, 128),
    (162, 44, 142),
    (131, 156, 44),
    (112, 72, 58),
    (84, 184, 198),
    (65, 100, 212),
    (35, 212, 114),
    (16, 128, 128),
)


class FramePacer:
    """Releases frame indices 0, 1, 2 … one ``period_s`` apart, against ``clock``.

    A caller that comes back more than ``max_lag_s`` late gets the index of the
    current slot (missed indices are skipped), never a burst of old ones.
    """

    def __init__(
        self, period_s: float, *, max_lag_s: float = 0.1, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if period_s <= 0:
            raise ValueError(f"'period_s' must be > 0 (got {period_s})")
        self._period_s = period_s
        self._max_lag_s = max_lag_s
        self._clock = clock
        self._start: float | None = None
        self._index = 0

    async def next_index(self) -> int:
        """Wait for the next frame's slot and return its index."""
        now = self._clock()
        if self._start is None:
            self._start = now
            return 0
        self._index += 1
        due = self._start + self._index * self._period_s
        if now - due > self._max_lag_s:
            self._index = math.floor((now - self._start) / self._period_s + 1e-9)  # the slot we are in
        elif due > now:
            await asyncio.sleep(due - now)
        return self._index


class ScrollingBars:
    """Eight colour bars over a luma ramp, scrolling ``step`` pixels a frame (immutable, shareable)."""

    def __init__(self, width: int = 640, height: int = 480, *, step: int = 4) -> None:
        if width < 16 or height < 16 or width % 2 or height % 2:
            raise ValueError(f"frame size must be even and at least 16x16 (got {width}x{height})")
        if step % 2:
            raise ValueError(f"'step' must be even so the chroma planes scroll with luma (got {step})")
        self.width, self.height, self.step = width, height, step
        bar = (np.arange(2 * width) * len(_BARS_YUV) // width) % len(_BARS_YUV)
        table = np.array(_BARS_YUV, dtype=np.int16)
        ramp = np.linspace(-12, 12, height, dtype=np.float32).astype(np.int16)[:, None]
        self._y = np.clip(table[bar, 0][None, :] + ramp, 16, 235).astype(np.uint8)
        self._u = np.ascontiguousarray(np.broadcast_to(table[bar[::2], 1], (height // 2, width)), np.uint8)
        self._v = np.ascontiguousarray(np.broadcast_to(table[bar[::2], 2], (height // 2, width)), np.uint8)
        for plane in (self._y, self._u, self._v):
            plane.flags.writeable = False

    def render(self, index: int, out: _U8) -> _U8:
        """Write frame ``index`` as a ``yuv420p`` array of shape (height * 3 // 2, width) into ``out``."""
        w, h = self.width, self.height
        x = (index * self.step) % w
        flat = out.reshape(-1)
        luma, chroma = w * h, (w // 2) * (h // 2)
        flat[:luma].reshape(h, w)[...] = self._y[:, x : x + w]
        flat[luma : luma + chroma].reshape(h // 2, w // 2)[...] = self._u[:, x // 2 : x // 2 + w // 2]
        flat[luma + chroma :].reshape(h // 2, w // 2)[...] = self._v[:, x // 2 : x // 2 + w // 2]
        return out

    def new_buffer(self) -> _U8:
        """A scratch array ``render`` can fill."""
        return np.empty((self.height * 3 // 2, self.width), dtype=np.uint8)


class SyntheticVideoTrack(VideoStreamTrack):
    """A camera stand-in: ``pattern`` frames at ``fps``, ``pts`` in the 90 kHz RTP video clock."""

    def __init__(self, pattern: ScrollingBars | None = None, *, fps: float = 30.0) -> None:
        super().__init__()
        if fps <= 0:
            raise ValueError(f"'fps' must be > 0 (got {fps})")
        self._pattern = pattern or ScrollingBars()
        self._fps = fps
        self._pacer = FramePacer(1 / fps)
        self._buffer = self._pattern.new_buffer()

    async def recv(self) -> VideoFrame:
        """The next frame, released in real time."""
        if self.readyState != "live":
            raise MediaStreamError
        index = await self._pacer.next_index()
        frame = VideoFrame.from_ndarray(self._pattern.render(index, self._buffer), format="yuv420p")
        frame.pts = round(index * VIDEO_CLOCK_RATE / self._fps)
        frame.time_base = VIDEO_TIME_BASE
        return frame


class SyntheticAudioTrack(AudioStreamTrack):
    """A microphone stand-in: a mono ``s16`` sine tone in ``frame_ms`` frames, ``pts`` in samples."""

    def __init__(
        self,
        *,
        frequency_hz: float = 440.0,
        sample_rate: int = 48_000,
        frame_ms: int = 20,
        amplitude: float = 0.25,
    ) -> None:
        super().__init__()
        if sample_rate * frame_ms % 1000:
            raise ValueError(f"{frame_ms} ms is not a whole number of samples at {sample_rate} Hz")
        if not 0 <= amplitude <= 1:
            raise ValueError(f"'amplitude' must be in [0, 1] (got {amplitude})")
        self.sample_rate = sample_rate
        self.samples_per_frame = sample_rate * frame_ms // 1000
        self._radians_per_sample = 2 * math.pi * frequency_hz / sample_rate
        self._peak = amplitude * np.iinfo(np.int16).max
        self._offsets = np.arange(self.samples_per_frame, dtype=np.float64)
        self._time_base = fractions.Fraction(1, sample_rate)
        self._pacer = FramePacer(frame_ms / 1000)

    async def recv(self) -> AudioFrame:
        """The next 20 ms (by default) of tone, released in real time."""
        if self.readyState != "live":
            raise MediaStreamError
        first_sample = (await self._pacer.next_index()) * self.samples_per_frame
        phase = (first_sample + self._offsets) * self._radians_per_sample
        samples = (self._peak * np.sin(phase)).astype(np.int16).reshape(1, -1)
        frame = AudioFrame.from_ndarray(samples, format="s16", layout="mono")
        frame.sample_rate = self.sample_rate
        frame.pts = first_sample
        frame.time_base = self._time_base
        return frame
