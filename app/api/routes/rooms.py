"""``/v1/rooms``: what other tools call to make and manage sessions.

Every call sees only the rooms of the calling API key (an admin key: every room); another key's room
is a 404, as if it did not exist (see ``app.rooms``).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response, status

from app import rooms
from app.deps import ApiKeyDep, RoomId, ServicesDep, SessionDep
from app.idempotency import IdempotencyKey, once
from app.models import EventPage, RoomCreate, RoomEnd, RoomPage, RoomPublic, RoomState, RoomUpdate
from app.report import SessionReport
from signaling.messages import Role

router = APIRouter(prefix="/v1/rooms", tags=["rooms"])
ICS = "text/calendar; charset=utf-8"

_ERROR: dict[str, Any] = {
    "content": {
        "application/json": {"example": {"code": "room_not_found", "message": "No room with id 'x'."}}
    }
}
_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "Missing or invalid API key", **_ERROR},
    404: {"description": "No such room, or a room another API key created", **_ERROR},
    422: {"description": "Invalid request", **_ERROR},
}
MAX_OFFSET = 2**31 - 1
"""The largest ``offset`` a listing takes: a 32-bit signed integer, which every database takes for
``OFFSET`` (a larger one overflowed SQLite's 64-bit binding: a 500)."""
MAX_EVENT_ID = 2**31 - 1
"""The largest event id (``after``): the id column is a 32-bit integer on PostgreSQL."""


@router.post("", status_code=status.HTTP_201_CREATED, responses=_ERRORS)
async def create_room(
    body: RoomCreate,
    services: ServicesDep,
    session: SessionDep,
    api_key: ApiKeyDep,
    idempotency_key: IdempotencyKey = None,
) -> RoomPublic:
    """Create a room for two people; the answer holds one join link per person.

    The room belongs to the calling API key: only that key (and admin keys) can see or change it.
    Sent again with the same ``Idempotency-Key``, the request returns the room made the first time.
    """
    return await once(  # type: ignore[return-value]  # a replay is the first answer, as sent
        services.db,
        caller=api_key,
        key=idempotency_key,
        operation="POST /v1/rooms",
        body=body,
        status=201,
        run=lambda: rooms.create_room(services, session, body=body, api_key=api_key),
    )


@router.get("", responses=_ERRORS)
async def list_rooms(
    services: ServicesDep,
    session: SessionDep,
    api_key: ApiKeyDep,
    state: RoomState | None = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> RoomPage:
    """The calling API key's rooms (an admin key's: every room), newest first, optionally only those
    in one state."""
    return await rooms.list_rooms(services, session, caller=api_key, state=state, limit=limit, offset=offset)


@router.get("/{room_id}", responses=_ERRORS)
async def get_room(
    room_id: RoomId, services: ServicesDep, session: SessionDep, api_key: ApiKeyDep
) -> RoomPublic:
    """One room of the calling API key, with its join links; another key's room is a 404."""
    return await rooms.get_room(services, session, caller=api_key, room_id=room_id)


@router.patch("/{room_id}", responses={**_ERRORS, 409: {"description": "Room is over", **_ERROR}})
async def update_room(
    room_id: RoomId, body: RoomUpdate, services: ServicesDep, session: SessionDep, api_key: ApiKeyDep
) -> RoomPublic:
    """Change the title or the fallback policy (``prompt``, ``auto``, ``off``); a live call follows.
    Only the key that created the room, or an admin key."""
    return await rooms.update_room(services, session, caller=api_key, room_id=room_id, body=body)


@router.post("/{room_id}/end", responses={**_ERRORS, 409: {"description": "Room expired", **_ERROR}})
async def end_room(
    room_id: RoomId,
    services: ServicesDep,
    session: SessionDep,
    api_key: ApiKeyDep,
    body: RoomEnd | None = None,
) -> RoomPublic:
    """End the session: both participants are disconnected with the reason, and nobody can rejoin.
    Before its start this cancels it (``reason`` goes to the webhook and the report). Only the key
    that created the room, or an admin key."""
    reason = None if body is None else body.reason
    return await rooms.end_room(services, session, caller=api_key, room_id=room_id, reason=reason)


@router.get("/{room_id}/events", responses=_ERRORS)
async def room_events(
    room_id: RoomId,
    services: ServicesDep,
    session: SessionDep,
    api_key: ApiKeyDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 500,
    after: Annotated[int | None, Query(ge=0, le=MAX_EVENT_ID, description="The last event id seen")] = None,
) -> EventPage:
    """What happened in one of the calling key's rooms, oldest first, ``limit`` at a time: while more
    remain, ``next`` is the ``after`` of the next page. One schema per event type (``scheduled``,
    ``joined``, ``left``, ``mode``, ``phone.joined``, ``no_show``, ``feedback``, ...); an event
    written by a newer duet comes as it was stored (``UnknownEvent``)."""
    return await rooms.room_events(
        services, session, caller=api_key, room_id=room_id, limit=limit, after=after
    )


@router.get(
    "/{room_id}/invite.ics",
    responses={**_ERRORS, 200: {"content": {"text/calendar": {}}, "description": "An RFC 5545 calendar"}},
    response_class=Response,
)
async def room_invite(
    room_id: RoomId,
    role: Role,
    services: ServicesDep,
    session: SessionDep,
    api_key: ApiKeyDep,
) -> Response:
    """One person's calendar invite (``role``: ``host`` or ``guest``): their own join link, the video
    call and the phone backup as RFC 7986 ``CONFERENCE`` properties, the backup plan in words. The UID
    stays and ``SEQUENCE`` grows with each reschedule, so calendars update the event."""
    ics = await rooms.room_invite(services, session, caller=api_key, room_id=room_id, role=role)
    return Response(
        ics,
        media_type=ICS,
        headers={"Content-Disposition": f'attachment; filename="{room_id}-{role.value}.ics"'},
    )


@router.get("/{room_id}/report", responses=_ERRORS)
async def room_report(
    room_id: RoomId, services: ServicesDep, session: SessionDep, api_key: ApiKeyDep
) -> SessionReport:
    """Duration, time in each mode, each person's audio (MOS) and video scores, the fallback timeline,
    of one of the calling key's rooms."""
    return await rooms.room_report(services, session, caller=api_key, room_id=room_id)
