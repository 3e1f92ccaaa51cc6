"""What a restarted server reads back from a room's events: who was here, and the call's mode.

Pure functions over the room's stored events (oldest first), the clock passed in. Only rooms that
were live when the process before stopped are read back (:meth:`app.live_rooms.LiveRooms.start`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from datetime import datetime

from app.models import Event
from signaling.messages import CallMode, Role

__all__ = ["RESTORE_MAX_AGE_S", "mode_at_last", "present_at_last"]

_PRESENT = {"joined": True, "reconnected": True, "reconnecting": True, "left": False}
"""Event types that say someone is (``True``) or is no longer (``False``) in the room."""

RESTORE_MAX_AGE_S = 120.0
"""A room whose newest event is older than this (seconds) holds no seats after a restart. A live call
writes a ``quality`` event every 10 s, and the page stops retrying its socket after about 100 s, so
an older silence means the previous process saw nobody lately and nobody is still trying."""


def mode_at_last(events: Sequence[Event]) -> CallMode:
    """The call's mode as the room's latest ``mode`` event left it."""
    for event in reversed(events):
        if event.type == "mode" and isinstance(mode := event.data.get("mode"), str):
            with contextlib.suppress(ValueError):
                return CallMode(mode)
    return CallMode.VIDEO


def present_at_last(events: Sequence[Event], now: datetime | None = None) -> set[Role]:
    """Who was connected (or held for a reconnect) when the room's last events were written; nobody
    when the newest of them is more than :data:`RESTORE_MAX_AGE_S` older than ``now``."""
    present: set[Role] = set()
    if now is not None and events and (now - max(e.at for e in events)).total_seconds() > RESTORE_MAX_AGE_S:
        return present
    for event in events:
        if event.role is None:
            if event.type in ("ended", "expired"):
                present.clear()
            continue
        if event.type in _PRESENT:
            if _PRESENT[event.type]:
                present.add(event.role)
            else:
                present.discard(event.role)
    return present
