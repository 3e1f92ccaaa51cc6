"""Room events: what is stored about a session, as one typed vocabulary.

Every event is one pydantic model with a ``type``, the ``role`` it concerns (``None`` for the room as
a whole) and its own typed ``data``; :data:`RoomEvent` is their union. The room's rules, the call
advisor and the phone bridge write them; the event log stores ``(type, role, data)`` rows; the report,
the restore after a restart, ``GET /v1/rooms/{id}/events`` and the webhooks read them back through
the same models. A stored event this version does not know (written by a newer one), or one whose
data no longer fits its model, is read as :class:`UnknownEvent` and passed through unchanged.

Like ``signaling.messages``, this module is at the floor: it imports nothing of duet's but the
protocol's enums.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Annotated, Any, Literal, TypeAlias

from pydantic import BaseModel, ConfigDict, Discriminator, Field, JsonValue, Tag, TypeAdapter, ValidationError

from signaling.messages import CallMode, Role
from signaling.stats import AudioLevel, VideoLevel

__all__ = [
    "KNOWN_TYPES",
    "Accepted",
    "Declined",
    "Ended",
    "Expired",
    "FeedbackChip",
    "FeedbackData",
    "FeedbackSubmitted",
    "Joined",
    "LeaveReason",
    "Left",
    "ModeSwitched",
    "NoShow",
    "PhoneCalling",
    "PhoneFailed",
    "PhoneJoined",
    "PhoneLeft",
    "QualitySample",
    "Reconnected",
    "Reconnecting",
    "Rescheduled",
    "RoomEvent",
    "Scheduled",
    "Suggested",
    "UnknownEvent",
    "Via",
    "Waiting",
    "Withdrawn",
    "event_row",
    "parse_event",
]

LeaveReason: TypeAlias = Literal["bye", "closed", "timeout"]
"""``bye``: the person left; ``closed``: their socket closed; ``timeout``: it went silent."""


class _Data(BaseModel):
    """An event's own fields. Fields a newer version added are kept (``extra="allow"``)."""

    model_config = ConfigDict(frozen=True, extra="allow")


class _Event(BaseModel):
    model_config = ConfigDict(frozen=True)
    id: int | None = None
    """The stored event's id (increasing across rooms); ``None`` until stored."""
    at: datetime | None = None
    """When it happened (UTC); ``None`` until stored (the event log stamps it)."""


class NoData(_Data):
    pass


class Joined(_Event):
    """Someone's socket joined the room (not a reconnect within the grace period)."""

    type: Literal["joined"] = "joined"
    role: Role
    data: NoData = Field(default_factory=NoData)


class Reconnected(_Event):
    """Someone came back within the reconnect grace period (or resumed after a server restart)."""

    type: Literal["reconnected"] = "reconnected"
    role: Role
    data: NoData = Field(default_factory=NoData)


class LeaveData(_Data):
    reason: LeaveReason


class Reconnecting(_Event):
    """Someone's socket dropped without ``bye``: their seat is held for the grace period."""

    type: Literal["reconnecting"] = "reconnecting"
    role: Role
    data: LeaveData


class Left(_Event):
    """Someone left: ``bye``, or the grace period passed without them coming back."""

    type: Literal["left"] = "left"
    role: Role
    data: LeaveData


class EndedData(_Data):
    reason: str | None = None
    """Why, as the platform gave it (a cancellation, for instance)."""


class Ended(_Event):
    """The room was ended through the API; nobody can join any more."""

    type: Literal["ended"] = "ended"
    role: None = None
    data: EndedData = Field(default_factory=EndedData)


class Expired(_Event):
    """The room's ``expires_at`` passed."""

    type: Literal["expired"] = "expired"
    role: None = None
    data: NoData = Field(default_factory=NoData)


class ScheduleData(_Data):
    starts_at: datetime
    expires_at: datetime
    sequence: int = 0
    """The calendar invite's SEQUENCE: 0 when made, one more on each reschedule."""


class Scheduled(_Event):
    """The room was made."""

    type: Literal["scheduled"] = "scheduled"
    role: None = None
    data: ScheduleData


class Rescheduled(_Event):
    """The room's times changed (``PATCH /v1/rooms/{id}``)."""

    type: Literal["rescheduled"] = "rescheduled"
    role: None = None
    data: ScheduleData


class QualityData(_Data):
    mos: float | None
    """Audio MOS (1-4.5) of this person's uplink as the other received it."""
    audio: AudioLevel
    video_score: float | None
    """0-100."""
    video: VideoLevel
    mode: CallMode


class QualitySample(_Event):
    """One person's uplink, sampled every 10 s while both are connected."""

    type: Literal["quality"] = "quality"
    role: Role
    data: QualityData


class SuggestedData(_Data):
    id: str
    mode: CallMode
    cause: str
    """``video-poor``, ``audio-bad``, ``connection-down``, ``reports-stopped``, ``recovered``."""
    to: str
    """Who was asked: ``host``, ``guest`` or ``host,guest``."""


class Suggested(_Event):
    """duet suggested a mode; ``role`` is the person whose link caused it (``None``: both or unknown)."""

    type: Literal["suggested"] = "suggested"
    role: Role | None = None
    data: SuggestedData


class DecisionData(_Data):
    id: str


class Accepted(_Event):
    type: Literal["accepted"] = "accepted"
    role: Role
    data: DecisionData


class Declined(_Event):
    type: Literal["declined"] = "declined"
    role: Role
    data: DecisionData


class WithdrawnData(_Data):
    id: str
    mode: CallMode


class Withdrawn(_Event):
    """A suggestion no longer applied and was taken back."""

    type: Literal["withdrawn"] = "withdrawn"
    role: Role | None = None
    data: WithdrawnData


class ModeData(_Data):
    mode: CallMode
    previous: CallMode
    cause: str
    """As for :class:`SuggestedData`, or ``person`` for a switch by hand."""
    by: str
    """``host``, ``guest``, or ``policy`` (the room's policy switched by itself)."""


class ModeSwitched(_Event):
    """The call changed mode; ``role`` is the person at fault, or who switched."""

    type: Literal["mode"] = "mode"
    role: Role | None = None
    data: ModeData


class Via(enum.StrEnum):
    """How someone is on the phone bridge: they dialled in, or duet rang them ("call me")."""

    DIAL_IN = "dial-in"
    CALL_ME = "call-me"


class PhoneData(_Data):
    via: Via


class PhoneCalling(_Event):
    """duet is ringing the person's phone ("call me")."""

    type: Literal["phone.calling"] = "phone.calling"
    role: Role
    data: PhoneData


class PhoneJoinedData(PhoneData):
    unknown_number: bool = False
    """The call came from a number the room was not given for this person."""


class PhoneJoined(_Event):
    type: Literal["phone.joined"] = "phone.joined"
    role: Role
    data: PhoneJoinedData


class PhoneLeft(_Event):
    type: Literal["phone.left"] = "phone.left"
    role: Role
    data: PhoneData


class PhoneFailedData(PhoneData):
    status: str
    """The provider's final call status (``busy``, ``no-answer``, ``failed``) or ``not-joined``."""


class PhoneFailed(_Event):
    """A "call me" call was not answered, or hung up before joining."""

    type: Literal["phone.failed"] = "phone.failed"
    role: Role
    data: PhoneFailedData


FeedbackChip: TypeAlias = Literal[
    "video_froze", "audio_choppy", "could_not_hear", "could_not_see", "echo", "dropped", "other"
]
"""What went wrong, from a fixed vocabulary (the page shows them below five stars)."""


class FeedbackData(_Data):
    rating: int = Field(ge=1, le=5)
    """Stars, 1-5."""
    chips: list[FeedbackChip] = Field(default_factory=list, max_length=7)
    comment: str = Field(default="", max_length=1000)


class FeedbackSubmitted(_Event):
    """Someone rated the call after it (a second rating replaces the first)."""

    type: Literal["feedback"] = "feedback"
    role: Role
    data: FeedbackData


class NoShowData(_Data):
    missing: Literal["host", "guest", "both"]
    grace_s: float
    """The room's no-show grace period (seconds after the start)."""


class NoShow(_Event):
    """The grace period after the start passed and ``missing`` never came (decided once a room)."""

    type: Literal["no_show"] = "no_show"
    role: None = None
    data: NoShowData


class WaitingData(_Data):
    waiting_s: float
    """Seconds ``role`` has been present without the other since the start (or since they came)."""


class Waiting(_Event):
    """``role`` has waited a while for the other (once per wait)."""

    type: Literal["waiting"] = "waiting"
    role: Role
    data: WaitingData


_KNOWN: tuple[type[_Event], ...] = (
    Joined,
    Reconnected,
    Reconnecting,
    Left,
    Ended,
    Expired,
    Scheduled,
    Rescheduled,
    QualitySample,
    Suggested,
    Accepted,
    Declined,
    Withdrawn,
    ModeSwitched,
    PhoneCalling,
    PhoneJoined,
    PhoneLeft,
    PhoneFailed,
    FeedbackSubmitted,
    NoShow,
    Waiting,
)
KNOWN_TYPES: frozenset[str] = frozenset(cls.model_fields["type"].default for cls in _KNOWN)


class UnknownEvent(_Event):
    """A stored event this version does not know, or whose data no longer fits: passed through."""

    type: str = Field(json_schema_extra={"not": {"enum": list[JsonValue](sorted(KNOWN_TYPES))}})
    """Any type but the known ones (so each event matches exactly one schema of the union)."""
    role: Role | None = None
    data: dict[str, Any] = Field(default_factory=dict)


def _tag(value: Any) -> str:
    if isinstance(value, UnknownEvent):  # kept as it was read, even under a known type's name
        return "unknown"
    kind = value.get("type") if isinstance(value, dict) else getattr(value, "type", None)
    return kind if isinstance(kind, str) and kind in KNOWN_TYPES else "unknown"


RoomEvent = Annotated[
    Annotated[Joined, Tag("joined")]
    | Annotated[Reconnected, Tag("reconnected")]
    | Annotated[Reconnecting, Tag("reconnecting")]
    | Annotated[Left, Tag("left")]
    | Annotated[Ended, Tag("ended")]
    | Annotated[Expired, Tag("expired")]
    | Annotated[Scheduled, Tag("scheduled")]
    | Annotated[Rescheduled, Tag("rescheduled")]
    | Annotated[QualitySample, Tag("quality")]
    | Annotated[Suggested, Tag("suggested")]
    | Annotated[Accepted, Tag("accepted")]
    | Annotated[Declined, Tag("declined")]
    | Annotated[Withdrawn, Tag("withdrawn")]
    | Annotated[ModeSwitched, Tag("mode")]
    | Annotated[PhoneCalling, Tag("phone.calling")]
    | Annotated[PhoneJoined, Tag("phone.joined")]
    | Annotated[PhoneLeft, Tag("phone.left")]
    | Annotated[PhoneFailed, Tag("phone.failed")]
    | Annotated[FeedbackSubmitted, Tag("feedback")]
    | Annotated[NoShow, Tag("no_show")]
    | Annotated[Waiting, Tag("waiting")]
    | Annotated[UnknownEvent, Tag("unknown")],
    Discriminator(_tag),
]
"""Any room event, as stored and as ``GET /v1/rooms/{id}/events`` returns it."""

_ADAPTER: TypeAdapter[RoomEvent] = TypeAdapter(RoomEvent)


def parse_event(row: dict[str, Any]) -> RoomEvent:
    """A stored row (``id``, ``type``, ``role``, ``at``, ``data``) as its event; an unknown type, or
    data that no longer fits the type's model, as :class:`UnknownEvent` (kept, never dropped)."""
    try:
        return _ADAPTER.validate_python(row)
    except ValidationError:
        return UnknownEvent.model_validate(row)


def event_row(event: RoomEvent) -> dict[str, Any]:
    """What the event log stores of an event: ``type``, ``role`` and ``data`` as JSON values."""
    data = event.data if isinstance(event.data, dict) else event.data.model_dump(mode="json")
    return {"type": event.type, "role": event.role, "data": data}
