"""Everything webhooks read or write in the database. Keyword-only functions on an async session."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, exists, insert, or_, update
from sqlalchemy.orm import aliased
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.models import ApiKey
from app.webhooks.models import DeliveryStatus, WebhookEndpoint, WebhookMessage

__all__ = [
    "add_messages",
    "disable_endpoint",
    "due_messages",
    "enabled_endpoints",
    "endpoint_failed",
    "endpoint_recovered",
    "failing_endpoints",
    "get_endpoint",
    "get_endpoints",
    "get_message",
    "list_endpoints",
    "list_messages",
    "new_id",
    "update_message",
]


def new_id(prefix: str) -> str:
    """``ep_…`` / ``msg_…``: 128 random bits, URL-safe."""
    return f"{prefix}_{secrets.token_urlsafe(16)}"


async def enabled_endpoints(session: AsyncSession) -> list[tuple[WebhookEndpoint, bool]]:
    """Every enabled endpoint, with whether its key is an admin key (it then hears of every room);
    endpoints of revoked keys are left out."""
    query = (
        select(WebhookEndpoint, ApiKey.admin)
        .join(ApiKey, col(ApiKey.id) == col(WebhookEndpoint.api_key_id))
        .where(col(WebhookEndpoint.enabled), col(ApiKey.revoked_at).is_(None))
    )
    return [(endpoint, bool(admin)) for endpoint, admin in await session.exec(query)]


async def list_endpoints(session: AsyncSession, *, caller: ApiKey) -> list[WebhookEndpoint]:
    query = select(WebhookEndpoint).order_by(col(WebhookEndpoint.created_at))
    if not caller.admin:
        query = query.where(WebhookEndpoint.api_key_id == caller.id)
    return list(await session.exec(query))


async def get_endpoint(session: AsyncSession, *, caller: ApiKey, endpoint_id: str) -> WebhookEndpoint | None:
    """The endpoint, if the caller may see it (its own, or any for an admin key)."""
    endpoint = await session.get(WebhookEndpoint, endpoint_id)
    if endpoint is None or (not caller.admin and endpoint.api_key_id != caller.id):
        return None
    return endpoint


async def add_messages(session: AsyncSession, *, rows: Sequence[dict[str, Any]]) -> None:
    """Outbox rows in one statement, in the caller's transaction (the one that stores the events)."""
    if rows:
        connection = await session.connection()
        await connection.execute(insert(WebhookMessage.__table__), list(rows))  # type: ignore[attr-defined]


async def due_messages(
    session: AsyncSession, *, now: datetime | None, limit: int, endpoint_ids: Sequence[str] | None = None
) -> list[WebhookMessage]:
    """Pending messages due by ``now`` (``None``: whenever due) to enabled endpoints (those in
    ``endpoint_ids``, if given), each the oldest pending one of its room for its endpoint (a room's
    events reach an endpoint in order: a later one waits for the earlier)."""
    earlier = aliased(WebhookMessage)
    blocked = exists().where(
        col(earlier.endpoint_id) == col(WebhookMessage.endpoint_id),
        col(earlier.room_id) == col(WebhookMessage.room_id),
        col(earlier.status) == DeliveryStatus.PENDING.value,
        col(earlier.sequence) < col(WebhookMessage.sequence),
    )
    query = (
        select(WebhookMessage)
        .join(WebhookEndpoint, col(WebhookEndpoint.id) == col(WebhookMessage.endpoint_id))
        .where(WebhookMessage.status == DeliveryStatus.PENDING.value, col(WebhookEndpoint.enabled), ~blocked)
        .order_by(col(WebhookMessage.next_attempt_at), col(WebhookMessage.sequence))
        .limit(limit)
    )
    if now is not None:
        query = query.where(col(WebhookMessage.next_attempt_at) <= now)
    if endpoint_ids is not None:
        query = query.where(col(WebhookMessage.endpoint_id).in_(endpoint_ids))
    return list(await session.exec(query))


async def failing_endpoints(session: AsyncSession) -> list[str]:
    """Enabled endpoints whose deliveries fail (since ``failing_since``)."""
    query = select(WebhookEndpoint.id).where(
        col(WebhookEndpoint.enabled), col(WebhookEndpoint.failing_since).is_not(None)
    )
    return list(await session.exec(query))


async def get_endpoints(session: AsyncSession, *, ids: set[str]) -> dict[str, WebhookEndpoint]:
    if not ids:
        return {}
    query = select(WebhookEndpoint).where(col(WebhookEndpoint.id).in_(ids))
    return {endpoint.id: endpoint for endpoint in await session.exec(query)}


async def update_message(session: AsyncSession, *, message_id: str, values: dict[str, Any]) -> None:
    """One statement: a pending message's attempt recorded."""
    await session.exec(
        update(WebhookMessage)
        .where(
            col(WebhookMessage.id) == message_id, col(WebhookMessage.status) == DeliveryStatus.PENDING.value
        )
        .values(**values)
    )


async def endpoint_failed(session: AsyncSession, *, endpoint_id: str, now: datetime) -> datetime:
    """Mark the endpoint failing (since ``now`` unless it already was); since when it has been."""
    await session.exec(
        update(WebhookEndpoint)
        .where(col(WebhookEndpoint.id) == endpoint_id, col(WebhookEndpoint.failing_since).is_(None))
        .values(failing_since=now)
    )
    since = (
        await session.exec(select(WebhookEndpoint.failing_since).where(WebhookEndpoint.id == endpoint_id))
    ).first()
    return since or now


async def disable_endpoint(session: AsyncSession, *, endpoint_id: str, reason: str) -> bool:
    """Disable an enabled endpoint with ``reason``; whether it was enabled."""
    result = await session.exec(
        update(WebhookEndpoint)
        .where(col(WebhookEndpoint.id) == endpoint_id, col(WebhookEndpoint.enabled))
        .values(enabled=False, disabled_reason=reason)
    )
    return bool(result.rowcount)


async def endpoint_recovered(session: AsyncSession, *, endpoint_id: str, now: datetime) -> None:
    """The endpoint answered again: no longer failing, and its pending messages waiting for a later
    retry are due now."""
    await session.exec(
        update(WebhookEndpoint).where(col(WebhookEndpoint.id) == endpoint_id).values(failing_since=None)
    )
    await session.exec(
        update(WebhookMessage)
        .where(
            and_(
                col(WebhookMessage.endpoint_id) == endpoint_id,
                col(WebhookMessage.status) == DeliveryStatus.PENDING.value,
                col(WebhookMessage.next_attempt_at) > now,
            )
        )
        .values(next_attempt_at=now)
    )


async def get_message(session: AsyncSession, *, endpoint_id: str, message_id: str) -> WebhookMessage | None:
    message = await session.get(WebhookMessage, message_id)
    return message if message is not None and message.endpoint_id == endpoint_id else None


async def list_messages(
    session: AsyncSession,
    *,
    endpoint_id: str,
    status: DeliveryStatus | None,
    before: tuple[datetime, str] | None,
    limit: int,
) -> list[WebhookMessage]:
    """An endpoint's messages, newest first; ``before``: (created_at, id) of the last one seen."""
    query = select(WebhookMessage).where(WebhookMessage.endpoint_id == endpoint_id)
    if status is not None:
        query = query.where(WebhookMessage.status == status.value)
    if before is not None:
        at, message_id = before
        query = query.where(
            or_(
                col(WebhookMessage.created_at) < at,
                and_(col(WebhookMessage.created_at) == at, col(WebhookMessage.id) < message_id),
            )
        )
    query = query.order_by(col(WebhookMessage.created_at).desc(), col(WebhookMessage.id).desc()).limit(limit)
    return list(await session.exec(query))
