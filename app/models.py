"""Database tables and the public shapes of the HTTP API (SQLModel families)."""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, field_validator
from pydantic import Field as PydField
from sqlalchemy import JSON, Column, DateTime, Index, String, TypeDecorator, text
from sqlalchemy.engine import Dialect
from sqlmodel import Field, SQLModel

from app.phone.numbers import is_e164
from media.fallback_policy import RoomPolicy
from signaling.events import RoomEvent
from signaling.messages import Role

__all__ = [
    "ApiKey",
    "DialIn",
    "Event",
    "EventPage",
    "JoinUrls",
    "Participant",
    "ParticipantPublic",
    "PersonCreate",
    "Room",
    "RoomCreate",
    "RoomEnd",
    "RoomPage",
    "RoomPublic",
    "RoomState",
    "RoomUpdate",
    "UTCDateTime",
    "room_state",
    "utcnow",
]

MAX_METADATA_BYTES = 16 * 1024
PIN_DIGITS = 8
"""A new room's phone PIN has 8 digits: a hundred million values, against three tries per call and
``DUET_PHONE_WRONG_PINS_PER_MINUTE`` for all callers together."""
PIN_LENGTHS = (PIN_DIGITS, 6)
"""PIN lengths the dial-in menu takes: rooms made before PINs grew to 8 digits keep their 6."""
_OPEN_PIN = "ended_at IS NULL"
"""The rooms whose PINs must differ: those not ended (a stored condition, unlike expiry, which moves
with the clock; an expired room keeps its PIN out of use until it is ended)."""


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Stores aware datetimes as naive UTC and reads them back aware.

    SQLite has no time zones; on PostgreSQL the columns are ``timestamp without time zone`` holding
    UTC, so the server's and the session's ``TimeZone`` never shift a value.
    """

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; use aware UTC datetimes")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        # Naive from our columns; aware if a column was made ``timestamptz`` by hand on PostgreSQL.
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class RoleType(TypeDecorator[Role]):
    """Stores a :class:`Role` as its value (``host``/``guest``), portable across databases."""

    impl = String(8)
    cache_ok = True

    def process_bind_param(self, value: Role | str | None, dialect: Dialect) -> str | None:
        return None if value is None else Role(value).value

    def process_result_value(self, value: str | None, dialect: Dialect) -> Role | None:
        return None if value is None else Role(value)


def _dt(**kwargs: Any) -> Any:
    return Field(sa_type=UTCDateTime, **kwargs)


class RoomState(enum.StrEnum):
    """Where a room is in its life, as API users see it."""

    SCHEDULED = "scheduled"
    """``starts_at`` is in the future."""
    OPEN = "open"
    """Joinable; nobody is connected right now."""
    LIVE = "live"
    """At least one participant is connected."""
    ENDED = "ended"
    """Ended through the API; nobody can join any more."""
    EXPIRED = "expired"
    """Past ``expires_at``; nobody can join any more."""


# --- tables -------------------------------------------------------------------


class ApiKey(SQLModel, table=True):
    """An API key; only its SHA-256 is stored."""

    __tablename__ = "api_key"
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100)
    prefix: str = Field(max_length=16)
    """The first characters of the key, to recognise it in listings."""
    key_hash: str = Field(max_length=64, unique=True, index=True)
    created_at: datetime = _dt(default_factory=utcnow)
    revoked_at: datetime | None = _dt(default=None)
    admin: bool = Field(default=False)
    """Sees and manages every room (``duet apikey create NAME --admin``); any other key only the rooms
    it created."""


class Room(SQLModel, table=True):
    """A session for two people."""

    __tablename__ = "room"
    id: str = Field(primary_key=True, max_length=32)
    title: str = Field(max_length=200)
    starts_at: datetime = _dt()
    expires_at: datetime = _dt(index=True)
    created_at: datetime = _dt(default_factory=utcnow)
    ended_at: datetime | None = _dt(default=None)
    live_since: datetime | None = _dt(default=None)
    """Set while at least one participant is connected."""
    meta: dict[str, Any] = Field(default_factory=dict, sa_column=Column("metadata", JSON, nullable=False))
    fallback_policy: str = Field(default="prompt", max_length=16)
    """``prompt``, ``auto`` or ``off`` (see ``media.fallback_policy.RoomPolicy``)."""
    dial_in_pin: str | None = Field(default=None, max_length=12, index=True)
    """PIN on the deployment's phone bridge, when it has one; unique among rooms not ended."""
    ends_at: datetime | None = _dt(default=None)
    """When the conversation is planned to end (calendar invites; no-show grace); ``None``: not said."""
    schedule_sequence: int = Field(default=0)
    """The calendar invite's ``SEQUENCE``: 0 when made, one more on each reschedule."""
    no_show_after_s: float | None = Field(default=None)
    """Seconds after ``starts_at`` by which someone who has not come is a no-show (``None``: the
    deployment's ``DUET_NO_SHOW_GRACE_S``)."""
    api_key_id: int | None = Field(default=None, foreign_key="api_key.id", index=True)
    """The key that created the room: only it (and admin keys) see the room. ``None`` for rooms made
    without a key (before revision 0004, the development demo room): only admin keys see those."""

    __table_args__ = (
        Index(
            "ux_room_dial_in_pin_not_ended",
            "dial_in_pin",
            unique=True,
            sqlite_where=text(_OPEN_PIN),
            postgresql_where=text(_OPEN_PIN),
        ),
    )


class Participant(SQLModel, table=True):
    """One of the two seats of a room."""

    __tablename__ = "participant"
    room_id: str = Field(foreign_key="room.id", primary_key=True, max_length=32)
    role: Role = Field(sa_type=RoleType, primary_key=True)
    name: str = Field(max_length=80)
    phone: str | None = Field(default=None, max_length=16)
    share_phone: bool = Field(default=False)
    """The person agreed to show their number to the other as a fallback."""


class Event(SQLModel, table=True):
    """Something that happened in a room (joined, left, reconnected, ended, expired)."""

    __tablename__ = "event"
    id: int | None = Field(default=None, primary_key=True)
    room_id: str = Field(foreign_key="room.id", index=True, max_length=32)
    type: str = Field(max_length=32)
    role: Role | None = Field(default=None, sa_type=RoleType)
    at: datetime = _dt(default_factory=utcnow)
    data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))

    __table_args__ = (Index("ix_event_type_at", "type", "at"),)
    """Counting one type of event across rooms (the deployment's "call me" calls of the day)."""


def room_state(room: Room, now: datetime) -> RoomState:
    """The one place a room's state is decided."""
    if room.ended_at is not None:
        return RoomState.ENDED
    if now >= room.expires_at:
        return RoomState.EXPIRED
    if room.live_since is not None:
        return RoomState.LIVE
    if now < room.starts_at:
        return RoomState.SCHEDULED
    return RoomState.OPEN


# --- API shapes ---------------------------------------------------------------


class _Api(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @field_validator("*")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        # PostgreSQL's text columns cannot hold NUL (SQLite's can): refuse it at the edge, as a 422.
        if isinstance(value, str) and "\x00" in value:
            raise ValueError("text must not contain NUL (\\u0000) characters")
        return value


class PersonCreate(_Api):
    """A participant as the calling tool describes them."""

    name: str = PydField(min_length=1, max_length=80)
    phone: str | None = PydField(default=None, description="E.164, e.g. +14155550123")
    share_phone: bool = PydField(
        default=False, description="the person agreed that the other may see this number as a backup plan"
    )

    @field_validator("phone")
    @classmethod
    def _e164(cls, value: str | None) -> str | None:
        if value is not None and not is_e164(value):
            raise ValueError("phone must be in E.164 form, like +14155550123")
        return value


EARLIEST_TIME = datetime(1970, 1, 1, tzinfo=UTC)
LATEST_TIME = datetime(2100, 1, 1, tzinfo=UTC)
"""A room starts and expires in [``EARLIEST_TIME``, ``LATEST_TIME``): adding its lifetime (at most ten
years) or taking its early-join minutes then never overflows a datetime (year 9999 did: a 500), and
every database and a JWT's ``exp`` hold it."""


def _aware_time(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    if value.tzinfo is None:
        raise ValueError("give a time zone, e.g. 2026-12-01T15:00:00Z")
    if not EARLIEST_TIME <= value < LATEST_TIME:
        raise ValueError("give a time from 1970 to 2099, e.g. 2026-12-01T15:00:00Z")
    return value


class RoomCreate(_Api):
    """Body of ``POST /v1/rooms``."""

    title: str = PydField(min_length=1, max_length=200)
    host: PersonCreate
    guest: PersonCreate
    starts_at: datetime | None = PydField(
        default=None, description="when people may join; default now (with a time zone, 1970-2099)"
    )
    expires_at: datetime | None = PydField(
        default=None, description="when the room closes for good (with a time zone, 1970-2099)"
    )
    ends_at: datetime | None = PydField(
        default=None,
        description="when the conversation is planned to end, for calendar invites (default: an hour"
        " after starts_at in the invite); between starts_at and expires_at",
    )
    metadata: dict[str, Any] = PydField(default_factory=dict, description="free JSON returned as given")
    fallback_policy: RoomPolicy = PydField(
        default=RoomPolicy.PROMPT,
        description="when the link fails: prompt (ask people), auto (switch and tell), off (indicator only)",
    )
    no_show_grace_minutes: float | None = PydField(
        default=None,
        ge=0,
        le=1440,
        description="minutes after starts_at by which someone who has not come is a no-show"
        " (default: the deployment's, 10, or a quarter of starts_at to ends_at if shorter)",
    )

    _times = field_validator("starts_at", "expires_at", "ends_at")(_aware_time)


class RoomUpdate(_Api):
    """Body of ``PATCH /v1/rooms/{id}``: only what is given changes."""

    title: str | None = PydField(default=None, min_length=1, max_length=200)
    fallback_policy: RoomPolicy | None = None
    starts_at: datetime | None = PydField(
        default=None,
        description="reschedule: the new start (the join links stay valid); given alone, the planned"
        " end and the closing move with it",
    )
    expires_at: datetime | None = PydField(default=None, description="reschedule: when the room closes")
    ends_at: datetime | None = PydField(default=None, description="reschedule: the planned end")

    _times = field_validator("starts_at", "expires_at", "ends_at")(_aware_time)


class RoomEnd(_Api):
    """Body of ``POST /v1/rooms/{id}/end`` (optional). Ending before the start cancels the session."""

    reason: str | None = PydField(default=None, max_length=200, description="why, for the webhook and report")


class ParticipantPublic(BaseModel):
    role: Role
    name: str
    phone: str | None
    share_phone: bool


class DialIn(BaseModel):
    number: str
    pin: str


class JoinUrls(BaseModel):
    host: str
    guest: str


class RoomPublic(BaseModel):
    """A room as the API returns it."""

    id: str
    title: str
    state: RoomState
    host: ParticipantPublic
    guest: ParticipantPublic
    starts_at: datetime
    expires_at: datetime
    ends_at: datetime | None
    """The planned end of the conversation, if given."""
    created_at: datetime
    ended_at: datetime | None
    metadata: dict[str, Any]
    fallback_policy: RoomPolicy
    no_show_grace_minutes: float | None
    """``null``: the deployment's default."""
    dial_in: DialIn | None
    join_urls: JoinUrls


class RoomPage(BaseModel):
    items: list[RoomPublic]
    total: int
    limit: int
    offset: int


class EventPage(BaseModel):
    """One page of a room's events, oldest first."""

    items: list[RoomEvent]
    next: int | None = None
    """Pass as ``after`` to get the following page; ``None`` on the last page."""
