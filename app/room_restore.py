"""What a restarted server reads back from a room's events: who was here, and the call's mode.

Pure functions over the room's stored events (oldest first), the clock passed in. Only rooms that
were live when the process before stopped are read back (:meth:`app.live_rooms.LiveRooms.start`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from signaling.events import Ended, Expired, Joined, Left, ModeSwitched, Reconnected, Reconnecting, RoomEvent
from signaling.messages import CallMode, Role

__all__ = ["RESTORE_MAX_AGE_S", "mode_at_last", "present_at_last"]

RESTORE_MAX_AGE_S = 120.0
"""A room whose newest event is older than this (seconds) holds no seats after a restart. A live call
writes a ``quality`` event every 10 s, and the page stops retrying its socket after about 100 s, so
an older silence means the previous process saw nobody lately and nobody is still trying."""


def mode_at_last(events: Sequence[RoomEvent]) -> CallMode:
    """The call's mode as the room's latest ``mode`` event left it."""
    for event in reversed(events):
        if isinstance(event, ModeSwitched):
            return event.data.mode
    return CallMode.VIDEO


def present_at_last(events: Sequence[RoomEvent], now: datetime | None = None) -> set[Role]:
    """Who was connected (or held for a reconnect) when the room's last events were written; nobody
    when the newest of them is more than :data:`RESTORE_MAX_AGE_S` older than ``now``."""
    present: set[Role] = set()
    newest = max((e.at for e in events if e.at is not None), default=None)
    if now is not None and newest is not None and (now - newest).total_seconds() > RESTORE_MAX_AGE_S:
        return present
    for event in events:
        match event:
            case Ended() | Expired():
                present.clear()
            case Joined(role=role) | Reconnected(role=role) | Reconnecting(role=role):
                present.add(role)
            case Left(role=role):
                present.discard(role)
    return present
