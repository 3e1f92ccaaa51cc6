"""Exponential backoff with jitter for reconnecting a signaling socket.

Each failed attempt doubles the delay, from ``base_s`` up to ``cap_s``; each delay is drawn
uniformly from its upper half (AWS's "equal jitter"), so many clients cut off by the same server
restart do not all come back at the same instant, and a wait is never longer than ``cap_s``.
"""

from __future__ import annotations

import random

__all__ = ["Backoff"]


class Backoff:
    """Delays (seconds) between reconnect attempts; :meth:`reset` after a success."""

    def __init__(self, base_s: float = 0.25, cap_s: float = 4.0, rng: random.Random | None = None) -> None:
        if not 0 < base_s <= cap_s:
            raise ValueError(f"expected 0 < base_s <= cap_s, got base_s={base_s}, cap_s={cap_s}")
        self.base_s = base_s
        self.cap_s = cap_s
        """Longest wait. 4 s keeps "back on signaling within 5 s of the server listening again"."""
        self._rng = rng or random.Random()
        self.attempts = 0

    def next_delay(self) -> float:
        """The wait before the next attempt (seconds), and count the attempt."""
        ceiling = min(self.cap_s, self.base_s * 2.0**self.attempts)
        self.attempts += 1
        return ceiling / 2 + self._rng.uniform(0, ceiling / 2)

    def reset(self) -> None:
        self.attempts = 0
