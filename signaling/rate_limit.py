"""How fast one socket may send, as pure code: token buckets per kind of frame, clock passed in.

A page sends a ``stats`` frame every 2 s, a ``ping`` every 10 s, and bursts of ``candidate`` frames
(a dozen or two) when it negotiates; a person switches the call's mode by hand a few times a call.
The limits below leave several times that room; a socket that goes past them gets ``error
rate_limited`` (at most once a second) and its extra frames are dropped unread; one that keeps
going (``STRIKES`` refused frames, forgiven at ``STRIKES_PER_S``) is closed (``CloseCode.RATE_LIMITED``).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

__all__ = [
    "STRIKES",
    "FrameBudget",
    "TokenBucket",
    "Verdict",
]


@dataclass(slots=True)
class TokenBucket:
    """``burst`` tokens at most, refilled at ``rate`` per second; each frame takes one."""

    rate: float
    burst: float
    tokens: float = -1.0
    """Tokens left (starts full)."""
    at: float | None = None
    """When ``tokens`` was last brought up to date (the caller's clock, seconds)."""

    def take(self, now: float) -> bool:
        if self.at is None:
            self.tokens, self.at = self.burst, now
        else:
            self.tokens = min(self.burst, self.tokens + (now - self.at) * self.rate)
            self.at = now
        if self.tokens < 1.0:
            return False
        self.tokens -= 1.0
        return True

    def refilled(self, now: float) -> bool:
        """Full again by ``now``: forgetting the bucket changes nothing."""
        return self.at is None or self.tokens + (now - self.at) * self.rate >= self.burst


ANY_RATE_PER_S, ANY_BURST = 20.0, 200.0
"""Frames of any kind: 20 a second sustained, bursts of 200 (a renegotiation with many candidates)."""
STATS_BURST = 5.0
"""``stats``: twice the rate the server asks for (``statsIntervalS``), five at once."""
CHOICE_RATE_PER_S, CHOICE_BURST = 0.5, 5.0
"""``set-mode`` and ``decide``: one every 2 s, five at once (each may store a room event)."""
STRIKES, STRIKES_PER_S = 100.0, 10.0
"""Refused frames a socket may send before it is closed, forgiven at 10 a second: a page never
reaches it (it is never refused); a flood of thousands of frames a second does within a second."""
NOTICE_EVERY_S = 1.0
"""At most one ``rate_limited`` error a second, so a flood is not answered with a flood."""


class Verdict(enum.Enum):
    """What to do with one frame."""

    ACCEPT = "accept"
    DROP = "drop"
    """Over the limit: drop it silently (a notice went out less than a second ago)."""
    NOTICE = "notice"
    """Over the limit: drop it and send ``error rate_limited``."""
    CLOSE = "close"
    """Over the limit, out of strikes: close the socket."""


_LIMITED_TYPES = {"stats": "stats", "set-mode": "choice", "decide": "choice"}


@dataclass(slots=True)
class FrameBudget:
    """One socket's buckets: every frame, then ``stats``, then the person's choices."""

    any: TokenBucket = field(default_factory=lambda: TokenBucket(ANY_RATE_PER_S, ANY_BURST))
    stats: TokenBucket = field(default_factory=lambda: TokenBucket(1.0, STATS_BURST))
    """Made by :meth:`for_stats_every` from the room's stats interval."""
    choice: TokenBucket = field(default_factory=lambda: TokenBucket(CHOICE_RATE_PER_S, CHOICE_BURST))
    strikes: TokenBucket = field(default_factory=lambda: TokenBucket(STRIKES_PER_S, STRIKES))
    """Each refused frame takes one; none left: close."""
    noticed_at: float | None = None

    @classmethod
    def for_stats_every(cls, stats_interval_s: float) -> FrameBudget:
        """The budget of a socket asked for a ``stats`` frame every ``stats_interval_s`` seconds."""
        return cls(stats=TokenBucket(2.0 / stats_interval_s, STATS_BURST))

    def arrived(self, now: float) -> Verdict:
        """A frame arrived, before it is even parsed (a flood costs no parsing)."""
        return self._verdict(self.any.take(now), now)

    def parsed(self, type_: str, now: float) -> Verdict:
        """The frame is of ``type_``: the limits of its kind."""
        bucket = _LIMITED_TYPES.get(type_)
        if bucket is None:
            return Verdict.ACCEPT
        return self._verdict((self.stats if bucket == "stats" else self.choice).take(now), now)

    def _verdict(self, ok: bool, now: float) -> Verdict:
        if ok:
            return Verdict.ACCEPT
        if not self.strikes.take(now):
            return Verdict.CLOSE
        if self.noticed_at is not None and now - self.noticed_at < NOTICE_EVERY_S:
            return Verdict.DROP
        self.noticed_at = now
        return Verdict.NOTICE
