"""Who is on the phone in each room: the calls ("legs") of the phone conference (pure, clock passed in).

The provider's callbacks are not ordered among themselves (a call's final status may arrive before
its conference ``leave``), so every input is idempotent and unknown calls are tolerated.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from signaling.events import Via
from signaling.messages import Role

__all__ = ["CALLING_TIMEOUT_S", "REMEMBER_S", "Leg", "LegState", "PhoneLegs", "Via"]

CALLING_TIMEOUT_S = 90.0
"""A "call me" call counts as ringing for at most this many seconds (the provider gives up after 30 s of
ringing; the rest is margin for a lost status callback)."""


REMEMBER_S = 3600.0
"""Seconds an ended call is remembered, so that its late or repeated callbacks change nothing."""


class LegState(enum.StrEnum):
    CALLING = "calling"
    """duet asked the provider to ring the person's phone."""
    JOINED = "joined"
    """In the conference."""
    LEFT = "left"
    FAILED = "failed"
    """Never reached the conference (busy, no answer, the key not pressed)."""


@dataclass(slots=True)
class Leg:
    call_sid: str
    role: Role
    via: Via
    state: LegState
    since: float
    """When the leg entered its state (seconds, the caller's clock)."""


_OVER = (LegState.LEFT, LegState.FAILED)


class PhoneLegs:
    """The legs of every room's conference, in this process."""

    def __init__(self) -> None:
        self._rooms: dict[str, dict[str, Leg]] = {}

    def calling(self, room_id: str, role: Role, call_sid: str, now: float) -> None:
        """A "call me" call was placed."""
        self._room(room_id, now)[call_sid] = Leg(call_sid, role, Via.CALL_ME, LegState.CALLING, now)

    def joined(self, room_id: str, role: Role, call_sid: str, via: Via, now: float) -> bool:
        """The call is in the conference; ``False`` if it already was, or is over (a late callback)."""
        legs = self._room(room_id, now)
        leg = legs.get(call_sid)
        if leg is not None and leg.state is not LegState.CALLING:
            return False
        legs[call_sid] = Leg(call_sid, role, via, LegState.JOINED, now)
        return True

    def ended(self, room_id: str, call_sid: str, now: float) -> Leg | None:
        """The call left the conference or ended. Returns the leg, now ``left`` (it had joined) or
        ``failed`` (it never did); ``None`` if it was over already or never known."""
        leg = self._room(room_id, now).get(call_sid)
        if leg is None or leg.state in _OVER:
            return None
        leg.state = LegState.LEFT if leg.state is LegState.JOINED else LegState.FAILED
        leg.since = now
        return leg

    def known(self, room_id: str, call_sid: str) -> bool:
        """Whether this process has heard of the call (a call from before a restart is not known)."""
        return call_sid in self._rooms.get(room_id, {})

    def on_phone(self, room_id: str) -> list[Role]:
        """The roles with a leg in the conference, host first."""
        joined = {leg.role for leg in self._rooms.get(room_id, {}).values() if leg.state is LegState.JOINED}
        return [role for role in Role if role in joined]

    def busy(self, room_id: str, role: Role, now: float) -> LegState | None:
        """Whether ``role`` is on the phone (``joined``) or being called (``calling``) right now."""
        states = {leg.state for leg in self._rooms.get(room_id, {}).values() if leg.role is role}
        if LegState.JOINED in states:
            return LegState.JOINED
        calling = any(
            leg.role is role and leg.state is LegState.CALLING and now - leg.since < CALLING_TIMEOUT_S
            for leg in self._rooms.get(room_id, {}).values()
        )
        return LegState.CALLING if calling else None

    def calls(self, room_id: str) -> list[str]:
        """Every call sid still ringing or in the room's conference."""
        return [sid for sid, leg in self._rooms.get(room_id, {}).items() if leg.state not in _OVER]

    def _room(self, room_id: str, now: float) -> dict[str, Leg]:
        """The room's legs, without those over (or ringing without news) for :data:`REMEMBER_S`."""
        legs = self._rooms.setdefault(room_id, {})
        for sid in [
            sid
            for sid, leg in legs.items()
            if leg.state is not LegState.JOINED and now - leg.since >= REMEMBER_S
        ]:
            del legs[sid]
        return legs
