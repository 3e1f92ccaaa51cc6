"""What duet tells a platform's webhook endpoints: the event catalogue, one model per type.

Every delivery's body is ``{"type": ..., "timestamp": ..., "data": {...}}`` (Standard Webhooks). The
``data`` of a session's event always holds the room's id, the platform's ``metadata`` from room
creation, the room's ``sequence`` (increasing by one with each event of the room: order by it) and
``occurred_at``; each type adds its own fields. The same models document the webhooks in the
OpenAPI description (``webhooks`` section) and build the payloads.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from signaling.messages import CallMode, Role

__all__ = [
    "EVENT_TYPES",
    "Attendance",
    "CallModeChanged",
    "FeedbackSubmittedEvent",
    "ParticipantJoined",
    "ParticipantLate",
    "ParticipantLeft",
    "ParticipantWaiting",
    "PhoneJoinedEvent",
    "PhoneLeftEvent",
    "Ping",
    "PublicEvent",
    "SessionEnded",
    "SessionNoShow",
    "SessionRescheduled",
    "SessionScheduled",
    "SessionStarted",
    "delivery_body",
]


class _Delivery(BaseModel):
    """A delivery's body: ``type``, ``timestamp`` (when it happened) and ``data``."""

    timestamp: datetime | None = None


class _Data(BaseModel):
    room_id: str
    metadata: dict[str, Any] = Field(default_factory=dict)
    """What the platform gave when it made the room, as given."""
    sequence: int
    """1 for the room's first event, one more for each next one: the order to apply them in."""
    occurred_at: datetime


class SessionScheduledData(_Data):
    title: str
    starts_at: datetime
    expires_at: datetime


class SessionScheduled(_Delivery):
    """The room was made."""

    type: Literal["session.scheduled"] = "session.scheduled"
    data: SessionScheduledData


class SessionRescheduledData(SessionScheduledData):
    previous_starts_at: datetime
    previous_expires_at: datetime


class SessionRescheduled(_Delivery):
    """The room's times changed; both join links stay valid."""

    type: Literal["session.rescheduled"] = "session.rescheduled"
    data: SessionRescheduledData


class SessionStarted(_Delivery):
    """Both people were present (by browser or phone) for the first time."""

    type: Literal["session.started"] = "session.started"
    data: _Data


class PersonAttendance(BaseModel):
    role: Role
    name: str
    first_joined_at: datetime | None
    """``null``: never came."""
    late_s: float | None
    """Seconds after the start they first came (0 when on time or early); ``null``: never came."""
    present_s: float
    """Seconds present, by browser or phone."""
    phone_s: float
    """Seconds of that on the phone bridge."""


class Attendance(BaseModel):
    host: PersonAttendance
    guest: PersonAttendance
    together_s: float
    """Seconds both were present."""
    mode_s: dict[CallMode, float]
    """Seconds the call spent in each mode while both were present."""
    no_show: Literal["host", "guest", "both"] | None
    """Who did not come within the no-show grace period, if anyone."""


class SessionEndedData(_Data):
    reason: Literal["ended", "expired", "cancelled"]
    """``ended`` through the API after it started, ``cancelled`` before (with ``note``), ``expired``."""
    note: str | None = None
    attendance: Attendance


class SessionEnded(_Delivery):
    """The room is over: ended through the API, cancelled, or expired."""

    type: Literal["session.ended"] = "session.ended"
    data: SessionEndedData


class ParticipantData(_Data):
    role: Role
    name: str


class ParticipantJoinedData(ParticipantData):
    via: Literal["web", "phone"]


class ParticipantJoined(_Delivery):
    """Someone became present (browser or phone). A reconnect within the grace period is not a join."""

    type: Literal["participant.joined"] = "participant.joined"
    data: ParticipantJoinedData


class ParticipantLeft(_Delivery):
    """Someone is no longer present anywhere; never sent for a drop they came back from in time."""

    type: Literal["participant.left"] = "participant.left"
    data: ParticipantData


class ParticipantWaitingData(ParticipantData):
    waiting_s: float
    """How long they have waited for the other (``for_role``)."""
    for_role: Role


class ParticipantWaiting(_Delivery):
    """One person has waited for the other for a while: the platform can nudge the late one."""

    type: Literal["participant.waiting"] = "participant.waiting"
    data: ParticipantWaitingData


class ParticipantLateData(ParticipantData):
    late_s: float


class ParticipantLate(_Delivery):
    """Someone came after the start (by more than a minute)."""

    type: Literal["participant.late"] = "participant.late"
    data: ParticipantLateData


class SessionNoShowData(_Data):
    missing: Literal["host", "guest", "both"]
    grace_s: float


class SessionNoShow(_Delivery):
    """The no-show grace period after the start passed without ``missing``."""

    type: Literal["session.no_show"] = "session.no_show"
    data: SessionNoShowData


class CallModeChangedData(_Data):
    mode: CallMode
    previous: CallMode
    cause: str
    """``video-poor``, ``audio-bad``, ``connection-down``, ``reports-stopped``, ``recovered``, ``person``."""
    by: str
    """``host``, ``guest`` or ``policy``."""
    role: Role | None
    """Whose link was at fault (or who switched)."""


class CallModeChanged(_Delivery):
    """The call went to audio only, to the phone, or back to video."""

    type: Literal["call.mode_changed"] = "call.mode_changed"
    data: CallModeChangedData


class PhoneData(ParticipantData):
    via: Literal["dial-in", "call-me"]


class PhoneJoinedEvent(_Delivery):
    type: Literal["phone.joined"] = "phone.joined"
    data: PhoneData


class PhoneLeftEvent(_Delivery):
    type: Literal["phone.left"] = "phone.left"
    data: PhoneData


class FeedbackData(ParticipantData):
    rating: int
    """1-5 stars."""
    chips: list[str]
    comment: str


class FeedbackSubmittedEvent(_Delivery):
    """Someone rated the call (a second rating from the same person replaces the first)."""

    type: Literal["feedback.submitted"] = "feedback.submitted"
    data: FeedbackData


class PingData(BaseModel):
    endpoint_id: str
    message: str = "duet test event"
    occurred_at: datetime


class Ping(_Delivery):
    """Sent by ``POST /v1/webhooks/{id}/test``."""

    type: Literal["ping"] = "ping"
    data: PingData


PublicEvent = (
    SessionScheduled
    | SessionRescheduled
    | SessionStarted
    | SessionEnded
    | SessionNoShow
    | ParticipantJoined
    | ParticipantLeft
    | ParticipantWaiting
    | ParticipantLate
    | CallModeChanged
    | PhoneJoinedEvent
    | PhoneLeftEvent
    | FeedbackSubmittedEvent
    | Ping
)
"""Anything sent to an endpoint."""

CATALOGUE: tuple[type[BaseModel], ...] = PublicEvent.__args__
EVENT_TYPES: frozenset[str] = frozenset(m.model_fields["type"].default for m in CATALOGUE)


def delivery_body(event: PublicEvent) -> str:
    """The delivery body, compact JSON, as sent and signed on every attempt: ``{"type", "timestamp",
    "data"}``; ``timestamp`` is when it happened."""
    data = event.data.model_dump(mode="json")
    body = {"type": event.type, "timestamp": data.get("occurred_at"), "data": data}
    return json.dumps(body, separators=(",", ":"))
