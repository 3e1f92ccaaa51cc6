"""Webhook endpoints and their outbox: the tables, and the shapes of ``/v1/webhooks``."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from pydantic import AnyHttpUrl, BaseModel, field_validator
from pydantic import Field as PydField
from sqlalchemy import JSON, Column, Index, Text
from sqlmodel import Field, SQLModel

from app.models import UTCDateTime, _Api, utcnow
from app.webhooks.catalogue import EVENT_TYPES

__all__ = [
    "DeliveryPage",
    "DeliveryPublic",
    "DeliveryStatus",
    "EndpointCreate",
    "EndpointCreated",
    "EndpointPublic",
    "EndpointUpdate",
    "WebhookEndpoint",
    "WebhookMessage",
]

MAX_URL_LENGTH = 2000


def _dt(**kwargs: Any) -> Any:
    return Field(sa_type=UTCDateTime, **kwargs)


class DeliveryStatus(enum.StrEnum):
    PENDING = "pending"
    """Not delivered yet: due now, or waiting for its next attempt (``next_attempt_at``)."""
    DELIVERED = "delivered"
    """The endpoint answered 2xx."""
    FAILED = "failed"
    """Given up: every attempt failed, or the endpoint answered a 4xx other than 429 (or 410, which
    also disables the endpoint). ``POST .../deliveries/{id}/retry`` sends it again."""


class WebhookEndpoint(SQLModel, table=True):
    """A URL a platform gave duet to be told of its rooms' events."""

    __tablename__ = "webhook_endpoint"
    id: str = Field(primary_key=True, max_length=32)
    api_key_id: int = Field(foreign_key="api_key.id", index=True)
    """The key that made it: it hears of that key's rooms (an admin key's endpoint: of every room)."""
    url: str = Field(max_length=MAX_URL_LENGTH)
    description: str = Field(default="", max_length=200)
    event_types: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    """The event types it wants; empty: all of them."""
    enabled: bool = Field(default=True)
    disabled_reason: str | None = Field(default=None, max_length=200)
    secret: str = Field(max_length=64)
    """``whsec_…``: the HMAC key of the signatures (the receiver holds the same)."""
    previous_secret: str | None = Field(default=None, max_length=64)
    previous_secret_until: datetime | None = _dt(default=None)
    """After a rotation, the old secret signs too (a second ``v1,`` signature) until then."""
    failing_since: datetime | None = _dt(default=None)
    """The first failure since the last success: failing for 3 days disables the endpoint."""
    created_at: datetime = _dt(default_factory=utcnow)


class WebhookMessage(SQLModel, table=True):
    """One event for one endpoint: the outbox row, written with the event, until delivered."""

    __tablename__ = "webhook_message"
    id: str = Field(primary_key=True, max_length=32)
    """``msg_…``: the ``webhook-id`` header, the same on every attempt."""
    endpoint_id: str = Field(foreign_key="webhook_endpoint.id", max_length=32)
    room_id: str | None = Field(default=None, max_length=32)
    """``None`` for a ``ping``."""
    event_type: str = Field(max_length=40)
    sequence: int = Field(default=0)
    """The event's number among its room's events (0 for a ``ping``): a room's messages go out in
    this order."""
    payload: str = Field(sa_column=Column(Text, nullable=False))
    """The exact JSON body sent (and signed) on every attempt."""
    status: str = Field(default=DeliveryStatus.PENDING.value, max_length=16)
    attempts: int = Field(default=0)
    next_attempt_at: datetime = _dt(default_factory=utcnow)
    created_at: datetime = _dt(default_factory=utcnow)
    last_attempt_at: datetime | None = _dt(default=None)
    last_status_code: int | None = Field(default=None)
    last_error: str | None = Field(default=None, max_length=200)
    delivered_at: datetime | None = _dt(default=None)

    __table_args__ = (
        Index("ix_webhook_message_due", "status", "next_attempt_at"),
        Index("ix_webhook_message_endpoint", "endpoint_id", "created_at"),
        Index("ix_webhook_message_queue", "endpoint_id", "room_id", "status", "sequence"),
    )


# --- API shapes ---------------------------------------------------------------


def _url_length(value: AnyHttpUrl | None) -> AnyHttpUrl | None:
    if value is not None and len(str(value)) > MAX_URL_LENGTH:
        raise ValueError(f"url longer than {MAX_URL_LENGTH} characters")
    return value


def _known_types(value: list[str]) -> list[str]:
    unknown = sorted(set(value) - EVENT_TYPES)
    if unknown:
        raise ValueError(f"unknown event types {unknown}; known: {', '.join(sorted(EVENT_TYPES))}")
    return sorted(set(value))


class EndpointCreate(_Api):
    """Body of ``POST /v1/webhooks``."""

    url: AnyHttpUrl = PydField(description="where duet POSTs events (https in production)")
    events: list[str] = PydField(
        default_factory=list, max_length=50, description="event types to send; empty: every type"
    )
    description: str = PydField(default="", max_length=200)

    _url = field_validator("url")(_url_length)
    _types = field_validator("events")(_known_types)


class EndpointUpdate(_Api):
    """Body of ``PATCH /v1/webhooks/{id}``: only what is given changes."""

    url: AnyHttpUrl | None = None
    events: list[str] | None = PydField(default=None, max_length=50)
    description: str | None = PydField(default=None, max_length=200)
    enabled: bool | None = PydField(default=None, description="true re-enables a disabled endpoint")

    _url = field_validator("url")(_url_length)

    @field_validator("events")
    @classmethod
    def _types(cls, value: list[str] | None) -> list[str] | None:
        return None if value is None else _known_types(value)


class EndpointPublic(BaseModel):
    id: str
    url: str
    events: list[str]
    """Empty: every event type."""
    description: str
    enabled: bool
    disabled_reason: str | None
    """Why duet disabled it (410 Gone, or failing for 3 days); ``null`` when enabled."""
    failing_since: datetime | None
    created_at: datetime


class EndpointCreated(EndpointPublic):
    secret: str
    """``whsec_…``: verify signatures with it. Shown here once (and on rotation), never again."""


class DeliveryPublic(BaseModel):
    id: str
    """The ``webhook-id`` of every attempt."""
    event_type: str
    room_id: str | None
    status: DeliveryStatus
    attempts: int
    created_at: datetime
    next_attempt_at: datetime | None
    """While pending."""
    last_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str | None
    delivered_at: datetime | None


class DeliveryPage(BaseModel):
    """Newest first."""

    items: list[DeliveryPublic]
    next: str | None = None
    """Pass as ``before`` for the following (older) page; ``null`` on the last page."""
