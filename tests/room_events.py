"""Stored room events for tests: ``stored("mode", Role.HOST, mode="audio-only")``, the other fields of
the type's data filled in with plausible values, read back through ``parse_event`` as the server does."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from signaling.events import KNOWN_TYPES, RoomEvent, UnknownEvent, parse_event
from signaling.messages import Role

T0 = datetime(2026, 11, 25, 15, 0, tzinfo=UTC)

_DEFAULTS: dict[str, dict[str, Any]] = {
    "left": {"reason": "bye"},
    "reconnecting": {"reason": "closed"},
    "quality": {"mos": 4.2, "audio": "good", "video_score": 90.0, "video": "good", "mode": "video"},
    "suggested": {"id": "s1", "mode": "audio-only", "cause": "video-poor", "to": "host,guest"},
    "accepted": {"id": "s1"},
    "declined": {"id": "s1"},
    "withdrawn": {"id": "s1", "mode": "audio-only"},
    "mode": {"mode": "audio-only", "previous": "video", "cause": "video-poor", "by": "policy"},
    "phone.calling": {"via": "call-me"},
    "phone.joined": {"via": "dial-in"},
    "phone.left": {"via": "dial-in"},
    "phone.failed": {"via": "call-me", "status": "no-answer"},
    "scheduled": {"starts_at": T0.isoformat(), "expires_at": T0.isoformat()},
    "rescheduled": {"starts_at": T0.isoformat(), "expires_at": T0.isoformat(), "sequence": 1},
    "feedback": {"rating": 5},
}


def stored(
    type_: str, role: Role | None = None, *, at: datetime = T0, event_id: int = 1, **data: Any
) -> RoomEvent:
    """A stored event of ``type_``; one of a known type must fit its model (else the test is wrong)."""
    event = parse_event(
        {"id": event_id, "type": type_, "role": role, "at": at, "data": {**_DEFAULTS.get(type_, {}), **data}}
    )
    assert type_ not in KNOWN_TYPES or not isinstance(event, UnknownEvent), f"not a valid {type_}: {data}"
    return event
