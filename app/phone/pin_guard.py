"""Who may still try PINs at the dial-in menu: a limit per caller's number, and one for all callers
together, since a caller id is easy to spoof (pure: the clock is passed in).

Every wrong PIN is counted by ``duet_phone_wrong_pins_total``; when all callers together reach
``DUET_PHONE_WRONG_PINS_PER_MINUTE``, the menu stops taking PINs from anyone until the minute has
passed, logs a warning and counts ``duet_phone_pin_lockouts_total`` (alert on it: someone is guessing).
"""

from __future__ import annotations

import enum
import logging

from app.metrics import Metrics
from app.phone import ivr
from app.phone.rate_limit import SlidingWindow

__all__ = ["EVERYONE_WINDOW_S", "PER_CALLER", "PER_CALLER_WINDOW_S", "PinGuard", "PinsRefused"]

log = logging.getLogger("duet.phone")

PER_CALLER = 3 * ivr.PIN_TRIES
PER_CALLER_WINDOW_S = 3600.0
"""A caller's number gets at most three calls' worth of wrong PINs an hour."""
EVERYONE_WINDOW_S = 60.0
"""The window of ``DUET_PHONE_WRONG_PINS_PER_MINUTE``, in seconds."""
_EVERYONE = ""


class PinsRefused(enum.Enum):
    """Why the menu takes no PIN from this caller now."""

    CALLER = "caller"
    """This number entered too many wrong PINs in the last hour."""
    EVERYONE = "everyone"
    """All callers together entered too many wrong PINs in the last minute."""


class PinGuard:
    """The dial-in menu's wrong-PIN limits, in this process."""

    def __init__(self, *, wrong_per_minute: int, metrics: Metrics) -> None:
        self._per_caller = SlidingWindow(limit=PER_CALLER, window_s=PER_CALLER_WINDOW_S)
        self._everyone = SlidingWindow(limit=wrong_per_minute, window_s=EVERYONE_WINDOW_S)
        self._metrics = metrics

    def refused(self, caller: str, now: float) -> PinsRefused | None:
        """Whether the menu must turn ``caller`` away without looking at a PIN."""
        self._per_caller.forget_idle(now)
        if self._everyone.remaining(_EVERYONE, now) == 0:
            return PinsRefused.EVERYONE
        if self._per_caller.remaining(caller, now) == 0:
            return PinsRefused.CALLER
        return None

    def turned_away(self, caller: str, now: float) -> str | None:
        """The goodbye (TwiML) for a caller the menu takes no PIN from now, or ``None``."""
        match self.refused(caller, now):
            case PinsRefused.EVERYONE:
                return ivr.try_later()
            case PinsRefused.CALLER:
                return ivr.goodbye("Sorry, too many wrong PINs were entered from this number. Goodbye.")
        return None

    def wrong(self, caller: str, now: float) -> None:
        """``caller`` entered a PIN that opened no session."""
        self._metrics.phone_wrong_pins.inc()
        self._per_caller.take(caller, now)
        self._everyone.take(_EVERYONE, now)
        if self._everyone.remaining(_EVERYONE, now) == 0:
            self._metrics.phone_pin_lockouts.inc()
            log.warning(
                "dial-in: %d wrong PINs from all callers within %g s; no PIN is taken from anyone until "
                "fewer were (someone may be guessing PINs)",
                self._everyone.limit,
                EVERYONE_WINDOW_S,
            )
