"""A sliding-window rate limit per key (pure: the clock is passed in)."""

from __future__ import annotations

from collections import deque

__all__ = ["SlidingWindow"]


class SlidingWindow:
    """At most ``limit`` events per key in any ``window_s`` seconds."""

    def __init__(self, *, limit: int, window_s: float) -> None:
        if limit < 1 or window_s <= 0:
            raise ValueError(f"expected limit >= 1 and window_s > 0, got {limit} and {window_s}")
        self.limit, self.window_s = limit, window_s
        self._events: dict[str, deque[float]] = {}

    def take(self, key: str, now: float) -> float | None:
        """Count one event for ``key`` and return ``None``; or, over the limit, count nothing and
        return how many seconds until one more is allowed."""
        events = self._recent(key, now)
        if len(events) >= self.limit:
            return events[0] + self.window_s - now
        events.append(now)
        return None

    def remaining(self, key: str, now: float) -> int:
        """How many more events ``key`` may have right now."""
        return self.limit - len(self._recent(key, now))

    def _recent(self, key: str, now: float) -> deque[float]:
        events = self._events.setdefault(key, deque())
        while events and now - events[0] >= self.window_s:
            events.popleft()
        return events

    def forget_idle(self, now: float) -> None:
        """Drop keys with no event inside the window (keeps memory bounded)."""
        for key in [
            k for k, events in self._events.items() if not events or now - events[-1] >= self.window_s
        ]:
            del self._events[key]
