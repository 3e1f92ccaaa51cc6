"""``/v1/insights``: how the calling key's sessions went, for program managers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query

from app import crud
from app.deps import ApiKeyDep, ServicesDep, SessionDep
from app.errors import Invalid
from app.insights import INSIGHT_TYPES, MAX_ROOMS, Insights, summarise
from app.models import EARLIEST_TIME, LATEST_TIME
from app.rooms import owner_seen_by

router = APIRouter(prefix="/v1/insights", tags=["insights"])

_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "Missing or invalid API key"},
    422: {"description": "Invalid window, or more than 5,000 rooms in it"},
}


@router.get("", responses=_ERRORS)
async def insights(
    services: ServicesDep,
    session: SessionDep,
    api_key: ApiKeyDep,
    start: Annotated[datetime | None, Query(alias="from", description="default: 30 days before `to`")] = None,
    end: Annotated[datetime | None, Query(alias="to", description="default: now")] = None,
) -> Insights:
    """Sessions held, cancelled and no-shows by role, lateness, ratings, the share of time in audio
    only and on the phone, and the top feedback chips, over the calling key's rooms (an admin key's:
    all) that start in ``[from, to)``."""
    now = datetime.now(UTC)
    end = end or now
    start = start or end - timedelta(days=30)
    for value in (start, end):
        if value.tzinfo is None or not EARLIEST_TIME <= value < LATEST_TIME:
            raise Invalid("from and to need a time zone and a year from 1970 to 2099.", code="invalid_window")
    if start >= end:
        raise Invalid("from must be before to.", code="invalid_window")
    await services.events.flush()
    found = await crud.rooms_starting(
        session, owner=owner_seen_by(api_key), start=start, end=end, limit=MAX_ROOMS + 1
    )
    if len(found) > MAX_ROOMS:
        raise Invalid(
            f"More than {MAX_ROOMS} rooms start in this window; ask for a shorter one.",
            code="window_too_wide",
        )
    events = await crud.list_events_of_rooms(
        session, room_ids=[room.id for room, _ in found], types=INSIGHT_TYPES
    )
    outbox = services.webhooks.outbox
    rooms = (
        (outbox.replayed(room, people, events.get(room.id, [])), events.get(room.id, []))
        for room, people in found
    )
    return summarise(rooms, start=start, end=end, now=now)
