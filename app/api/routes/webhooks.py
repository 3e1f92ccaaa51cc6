"""``/v1/webhooks``: where a platform asks to be told of its rooms' events, as they happen.

Deliveries follow Standard Webhooks v1 (``webhook-id``, ``webhook-timestamp``, ``webhook-signature``);
the event catalogue is in this API description's ``webhooks`` section. Each API key sees only its own
endpoints (an admin key: all); another key's endpoint is a 404.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Path, Query, Response, status

from app.deps import ApiKeyDep, ServicesDep, SessionDep
from app.idempotency import IdempotencyKey, once
from app.webhooks import endpoints
from app.webhooks.catalogue import CATALOGUE
from app.webhooks.models import (
    DeliveryPage,
    DeliveryPublic,
    DeliveryStatus,
    EndpointCreate,
    EndpointCreated,
    EndpointPublic,
    EndpointUpdate,
)
from app.webhooks.service import Webhooks

router = APIRouter(prefix="/v1/webhooks", tags=["webhooks"])

_ERROR: dict[str, Any] = {
    "content": {
        "application/json": {
            "example": {"code": "webhook_not_found", "message": "No webhook endpoint with id 'x'."}
        }
    }
}
_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "Missing or invalid API key", **_ERROR},
    404: {"description": "No such endpoint, or another API key's", **_ERROR},
    422: {"description": "Invalid request, or a URL duet will not send to", **_ERROR},
}
_ID_PATTERN = r"^[A-Za-z0-9_-]+$"
EndpointId = Annotated[str, Path(min_length=1, max_length=32, pattern=_ID_PATTERN)]
DeliveryId = Annotated[str, Path(min_length=1, max_length=32, pattern=_ID_PATTERN)]


def document_catalogue(app: FastAPI) -> None:
    """Each event type in the API description's ``webhooks`` section (OpenAPI 3.1), from the same
    models that build the deliveries."""
    for model in CATALOGUE:
        name = str(model.model_fields["type"].default)

        def receive(body: Any) -> None:  # documentation only: duet sends these, it does not take them
            """What the endpoint receives."""

        receive.__annotations__ = {"body": model, "return": None}
        receive.__doc__ = (model.__doc__ or name).strip() + "\n\n" + _SIGNED
        app.webhooks.add_api_route(name, receive, methods=["POST"], summary=name, response_model=None)


_SIGNED = (
    "Signed per Standard Webhooks v1: headers `webhook-id` (the same on each retry), `webhook-timestamp`"
    " and `webhook-signature` (`v1,` + base64 HMAC-SHA256 of `id.timestamp.body` keyed by the endpoint's"
    " secret). Answer 2xx within 10 s; 410 disables the endpoint."
)


def _webhooks(services: ServicesDep) -> Webhooks:
    return services.webhooks


@router.post("", status_code=status.HTTP_201_CREATED, responses=_ERRORS)
async def create_endpoint(
    body: EndpointCreate,
    services: ServicesDep,
    session: SessionDep,
    api_key: ApiKeyDep,
    idempotency_key: IdempotencyKey = None,
) -> EndpointCreated:
    """Register a URL to be sent the calling key's rooms' events (all types, or those in ``events``).
    The answer holds the endpoint's signing secret, shown this once (and to a retry with the same
    ``Idempotency-Key`` within 24 hours)."""
    return await once(  # type: ignore[return-value]  # a replay is the first answer, as sent
        services.db,
        caller=api_key,
        key=idempotency_key,
        operation="POST /v1/webhooks",
        body=body,
        status=201,
        run=lambda: endpoints.create(_webhooks(services), session, caller=api_key, body=body),
    )


@router.get("", responses=_ERRORS)
async def list_endpoints(session: SessionDep, api_key: ApiKeyDep) -> list[EndpointPublic]:
    return await endpoints.listing(session, caller=api_key)


@router.get("/{endpoint_id}", responses=_ERRORS)
async def get_endpoint(endpoint_id: EndpointId, session: SessionDep, api_key: ApiKeyDep) -> EndpointPublic:
    return await endpoints.get(session, caller=api_key, endpoint_id=endpoint_id)


@router.patch("/{endpoint_id}", responses=_ERRORS)
async def update_endpoint(
    endpoint_id: EndpointId,
    body: EndpointUpdate,
    services: ServicesDep,
    session: SessionDep,
    api_key: ApiKeyDep,
) -> EndpointPublic:
    """Change the URL, the event types or the description; ``enabled: true`` re-enables an endpoint
    duet disabled (what waited for it is then delivered)."""
    return await endpoints.update(
        _webhooks(services), session, caller=api_key, endpoint_id=endpoint_id, body=body
    )


@router.delete("/{endpoint_id}", status_code=status.HTTP_204_NO_CONTENT, responses=_ERRORS)
async def delete_endpoint(
    endpoint_id: EndpointId, services: ServicesDep, session: SessionDep, api_key: ApiKeyDep
) -> Response:
    """Stop sending to it; its undelivered messages are dropped."""
    await endpoints.remove(_webhooks(services), session, caller=api_key, endpoint_id=endpoint_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/{endpoint_id}/rotate-secret", responses=_ERRORS)
async def rotate_secret(
    endpoint_id: EndpointId,
    services: ServicesDep,
    session: SessionDep,
    api_key: ApiKeyDep,
    idempotency_key: IdempotencyKey = None,
) -> EndpointCreated:
    """A new signing secret (in the answer, this once). For 24 hours deliveries carry a signature with
    the old secret too, so receivers can switch without missing one. A retry with the same
    ``Idempotency-Key`` returns the same secret instead of rotating again."""
    return await once(  # type: ignore[return-value]  # a replay is the first answer, as sent
        services.db,
        caller=api_key,
        key=idempotency_key,
        operation=f"POST /v1/webhooks/{endpoint_id}/rotate-secret",
        body=None,
        status=200,
        run=lambda: endpoints.rotate_secret(session, caller=api_key, endpoint_id=endpoint_id),
    )


@router.post("/{endpoint_id}/test", status_code=status.HTTP_202_ACCEPTED, responses=_ERRORS)
async def send_test(
    endpoint_id: EndpointId,
    services: ServicesDep,
    session: SessionDep,
    api_key: ApiKeyDep,
    idempotency_key: IdempotencyKey = None,
) -> DeliveryPublic:
    """Send a ``ping`` event now; follow it in the deliveries."""
    return await once(  # type: ignore[return-value]  # a replay is the first answer, as sent
        services.db,
        caller=api_key,
        key=idempotency_key,
        operation=f"POST /v1/webhooks/{endpoint_id}/test",
        body=None,
        status=202,
        run=lambda: endpoints.send_test(
            _webhooks(services), session, caller=api_key, endpoint_id=endpoint_id
        ),
    )


@router.get("/{endpoint_id}/deliveries", responses=_ERRORS)
async def list_deliveries(
    endpoint_id: EndpointId,
    session: SessionDep,
    api_key: ApiKeyDep,
    status: DeliveryStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    before: Annotated[
        str | None, Query(max_length=32, pattern=_ID_PATTERN, description="the last id seen")
    ] = None,
) -> DeliveryPage:
    """The endpoint's deliveries, newest first: status, attempts, last answer and when."""
    return await endpoints.deliveries(
        session, caller=api_key, endpoint_id=endpoint_id, status=status, before=before, limit=limit
    )


@router.post(
    "/{endpoint_id}/deliveries/{delivery_id}/retry", status_code=status.HTTP_202_ACCEPTED, responses=_ERRORS
)
async def retry_delivery(
    endpoint_id: EndpointId,
    delivery_id: DeliveryId,
    services: ServicesDep,
    session: SessionDep,
    api_key: ApiKeyDep,
) -> DeliveryPublic:
    """Send it again now (same ``webhook-id``), whatever its status."""
    return await endpoints.retry(
        _webhooks(services), session, caller=api_key, endpoint_id=endpoint_id, delivery_id=delivery_id
    )
