"""Video freezes counted as Chromium counts them, for the ``freezeCount`` / ``totalFreezesDuration`` stats.

The rule is webrtc-stats' (``RTCInboundRtpStreamStats.freezeCount``) as libwebrtc implements it in
``video/video_quality_observer2.cc``: an inter-frame gap is a freeze when it is at least
``max(3 * average, average + 150 ms)``, the average being that of the last 30 inter-frame gaps
(the current one included), and only once 5 gaps are known. The freeze lasts the whole gap.
A gap after :meth:`FreezeCounter.pause` (the sender stopped its video on purpose) is a pause, not a
freeze, and stays out of the average, as libwebrtc does after ``OnStreamInactive``.

Pure: frame arrival times are passed in. libwebrtc works in whole milliseconds and rounds the
average down; this works in float seconds, which moves the threshold by under a millisecond.
"""

from __future__ import annotations

from collections import deque

__all__ = ["FREEZE_MIN_EXTRA_S", "FREEZE_MIN_SAMPLES", "FREEZE_WINDOW_FRAMES", "FreezeCounter"]

FREEZE_WINDOW_FRAMES = 30
"""Inter-frame gaps averaged (libwebrtc ``kAvgInterframeDelaysWindowSizeFrames``)."""
FREEZE_MIN_SAMPLES = 5
"""Gaps needed before any freeze is detected (libwebrtc ``kMinFrameSamplesToDetectFreeze``)."""
FREEZE_MIN_EXTRA_S = 0.150
"""A freeze is at least this much longer than the average gap (libwebrtc ``kMinIncreaseForFreezeMs``)."""


class FreezeCounter:
    """Feed it every received video frame's arrival time; it counts freezes and their total length."""

    __slots__ = ("_gaps", "_last_at", "_paused", "count", "total_s")

    def __init__(self) -> None:
        self._gaps: deque[float] = deque(maxlen=FREEZE_WINDOW_FRAMES)
        self._last_at: float | None = None
        self._paused = False
        self.count = 0
        """Freezes so far."""
        self.total_s = 0.0
        """Seconds spent frozen so far (the sum of the freezing gaps)."""

    def add_frame(self, at: float) -> bool:
        """A frame arrived at ``at`` (seconds, monotonic); returns whether the gap before it was a freeze."""
        last, self._last_at = self._last_at, at
        paused, self._paused = self._paused, False
        if last is None or paused:
            return False
        gap = max(0.0, at - last)
        self._gaps.append(gap)
        if len(self._gaps) < FREEZE_MIN_SAMPLES:
            return False
        average = sum(self._gaps) / len(self._gaps)
        if gap < max(3 * average, average + FREEZE_MIN_EXTRA_S):
            return False
        self.count += 1
        self.total_s += gap
        return True

    def pause(self) -> None:
        """The video stops or starts on purpose (audio-only, video back): the next gap is no freeze."""
        self._paused = True
