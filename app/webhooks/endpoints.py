"""What ``/v1/webhooks`` does: endpoints a platform registers, their secrets, their deliveries.

Every call sees only the calling API key's endpoints (an admin key: all); another key's endpoint is a
404, as for rooms.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from app.errors import Invalid, NotFound
from app.models import ApiKey, utcnow
from app.webhooks import store
from app.webhooks.catalogue import Ping, PingData, delivery_body
from app.webhooks.destinations import destination_refusal
from app.webhooks.models import (
    DeliveryPage,
    DeliveryPublic,
    DeliveryStatus,
    EndpointCreate,
    EndpointCreated,
    EndpointPublic,
    EndpointUpdate,
    WebhookEndpoint,
    WebhookMessage,
)
from app.webhooks.service import Webhooks
from app.webhooks.signing import new_secret

__all__ = [
    "PREVIOUS_SECRET_VALID",
    "create",
    "deliveries",
    "get",
    "listing",
    "remove",
    "retry",
    "rotate_secret",
    "send_test",
    "update",
]

PREVIOUS_SECRET_VALID = timedelta(hours=24)
"""After a rotation the old secret signs too for this long, so receivers can switch without a gap."""


def public(endpoint: WebhookEndpoint) -> EndpointPublic:
    return EndpointPublic(
        id=endpoint.id,
        url=endpoint.url,
        events=list(endpoint.event_types),
        description=endpoint.description,
        enabled=endpoint.enabled,
        disabled_reason=endpoint.disabled_reason,
        failing_since=endpoint.failing_since,
        created_at=endpoint.created_at,
    )


def _with_secret(endpoint: WebhookEndpoint) -> EndpointCreated:
    return EndpointCreated(**public(endpoint).model_dump(), secret=endpoint.secret)


def delivery(message: WebhookMessage) -> DeliveryPublic:
    pending = message.status == DeliveryStatus.PENDING.value
    return DeliveryPublic(
        id=message.id,
        event_type=message.event_type,
        room_id=message.room_id,
        status=DeliveryStatus(message.status),
        attempts=message.attempts,
        created_at=message.created_at,
        next_attempt_at=message.next_attempt_at if pending else None,
        last_attempt_at=message.last_attempt_at,
        last_status_code=message.last_status_code,
        last_error=message.last_error,
        delivered_at=message.delivered_at,
    )


async def _check_url(webhooks: Webhooks, url: str) -> None:
    refusal = await destination_refusal(
        url, allow_private=webhooks.deliverer.allow_private, allow_hosts=webhooks.deliverer.allow_hosts
    )
    if refusal is not None:
        raise Invalid(f"duet will not send webhooks there: {refusal}.", code="webhook_url_refused")


async def _endpoint_or_404(session: AsyncSession, caller: ApiKey, endpoint_id: str) -> WebhookEndpoint:
    endpoint = await store.get_endpoint(session, caller=caller, endpoint_id=endpoint_id)
    if endpoint is None:
        raise NotFound(f"No webhook endpoint with id {endpoint_id!r}.", code="webhook_not_found")
    return endpoint


async def create(
    webhooks: Webhooks, session: AsyncSession, *, caller: ApiKey, body: EndpointCreate
) -> EndpointCreated:
    await _check_url(webhooks, str(body.url))
    assert caller.id is not None
    endpoint = WebhookEndpoint(
        id=store.new_id("ep"),
        api_key_id=caller.id,
        url=str(body.url),
        description=body.description,
        event_types=body.events,
        secret=new_secret(),
    )
    session.add(endpoint)
    await session.commit()
    webhooks.outbox.endpoints_changed()
    return _with_secret(endpoint)


async def listing(session: AsyncSession, *, caller: ApiKey) -> list[EndpointPublic]:
    return [public(e) for e in await store.list_endpoints(session, caller=caller)]


async def get(session: AsyncSession, *, caller: ApiKey, endpoint_id: str) -> EndpointPublic:
    return public(await _endpoint_or_404(session, caller, endpoint_id))


async def update(
    webhooks: Webhooks, session: AsyncSession, *, caller: ApiKey, endpoint_id: str, body: EndpointUpdate
) -> EndpointPublic:
    endpoint = await _endpoint_or_404(session, caller, endpoint_id)
    if body.url is not None:
        await _check_url(webhooks, str(body.url))
        endpoint.url = str(body.url)
    if body.events is not None:
        endpoint.event_types = body.events
    if body.description is not None:
        endpoint.description = body.description
    if body.enabled is not None:
        if body.enabled and not endpoint.enabled:  # a fresh start: the 3-day clock restarts
            endpoint.disabled_reason, endpoint.failing_since = None, None
        endpoint.enabled = body.enabled
    session.add(endpoint)
    await session.commit()
    webhooks.outbox.endpoints_changed()
    webhooks.deliverer.wake()
    return public(endpoint)


async def remove(webhooks: Webhooks, session: AsyncSession, *, caller: ApiKey, endpoint_id: str) -> None:
    endpoint = await _endpoint_or_404(session, caller, endpoint_id)
    await session.exec(delete(WebhookMessage).where(col(WebhookMessage.endpoint_id) == endpoint.id))
    await session.delete(endpoint)
    await session.commit()
    webhooks.outbox.endpoints_changed()


async def rotate_secret(session: AsyncSession, *, caller: ApiKey, endpoint_id: str) -> EndpointCreated:
    endpoint = await _endpoint_or_404(session, caller, endpoint_id)
    endpoint.previous_secret, endpoint.previous_secret_until = (
        endpoint.secret,
        utcnow() + PREVIOUS_SECRET_VALID,
    )
    endpoint.secret = new_secret()
    session.add(endpoint)
    await session.commit()
    return _with_secret(endpoint)


async def send_test(
    webhooks: Webhooks, session: AsyncSession, *, caller: ApiKey, endpoint_id: str
) -> DeliveryPublic:
    """A ``ping`` to the endpoint (a disabled one gets it once enabled again)."""
    endpoint = await _endpoint_or_404(session, caller, endpoint_id)
    now = utcnow()
    body = delivery_body(Ping(data=PingData(endpoint_id=endpoint.id, occurred_at=now)))
    message = WebhookMessage(
        id=store.new_id("msg"),
        endpoint_id=endpoint.id,
        event_type="ping",
        payload=body,
        next_attempt_at=now,
        created_at=now,
    )
    session.add(message)
    await session.commit()
    webhooks.deliverer.wake()
    return delivery(message)


async def deliveries(
    session: AsyncSession,
    *,
    caller: ApiKey,
    endpoint_id: str,
    status: DeliveryStatus | None,
    before: str | None,
    limit: int,
) -> DeliveryPage:
    endpoint = await _endpoint_or_404(session, caller, endpoint_id)
    cursor = None
    if before is not None:
        last = await store.get_message(session, endpoint_id=endpoint.id, message_id=before)
        if last is None:
            raise NotFound(f"No delivery with id {before!r} at this endpoint.", code="delivery_not_found")
        cursor = (last.created_at, last.id)
    found = await store.list_messages(
        session, endpoint_id=endpoint.id, status=status, before=cursor, limit=limit + 1
    )
    page = found[:limit]
    return DeliveryPage(items=[delivery(m) for m in page], next=page[-1].id if len(found) > limit else None)


async def retry(
    webhooks: Webhooks, session: AsyncSession, *, caller: ApiKey, endpoint_id: str, delivery_id: str
) -> DeliveryPublic:
    """Send it again, now, whatever its status (a replay of a delivered one has the same id)."""
    endpoint = await _endpoint_or_404(session, caller, endpoint_id)
    message = await store.get_message(session, endpoint_id=endpoint.id, message_id=delivery_id)
    if message is None:
        raise NotFound(f"No delivery with id {delivery_id!r} at this endpoint.", code="delivery_not_found")
    message.status, message.next_attempt_at = DeliveryStatus.PENDING.value, utcnow()
    session.add(message)
    await session.commit()
    webhooks.deliverer.wake()
    return delivery(message)
