"""What the rooms API does, between the routes and crud."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

from app import crud
from app.errors import Conflict, Invalid, NotFound
from app.models import (
    MAX_METADATA_BYTES,
    ApiKey,
    EventPage,
    EventPublic,
    JoinUrls,
    Participant,
    ParticipantPublic,
    Room,
    RoomCreate,
    RoomPage,
    RoomPublic,
    RoomState,
    room_state,
)
from app.services import Services
from signaling.messages import Role

__all__ = ["create_room", "end_room", "get_room", "join_url", "list_rooms", "room_events", "to_public"]


def join_url(services: Services, room: Room, role: Role) -> str:
    token = services.tokens.issue(room_id=room.id, role=role, expires_at=room.expires_at)
    return f"{services.settings.public_url}/s/{room.id}#t={token}"


def to_public(services: Services, room: Room, people: dict[Role, Participant], now: datetime) -> RoomPublic:
    def person(role: Role) -> ParticipantPublic:
        return ParticipantPublic(role=role, name=people[role].name, phone=people[role].phone)

    return RoomPublic(
        id=room.id,
        title=room.title,
        state=room_state(room, now),
        host=person(Role.HOST),
        guest=person(Role.GUEST),
        starts_at=room.starts_at,
        expires_at=room.expires_at,
        created_at=room.created_at,
        ended_at=room.ended_at,
        metadata=room.meta,
        join_urls=JoinUrls(
            host=join_url(services, room, Role.HOST), guest=join_url(services, room, Role.GUEST)
        ),
    )


async def create_room(
    services: Services, session: AsyncSession, *, body: RoomCreate, api_key: ApiKey | None
) -> RoomPublic:
    settings, now = services.settings, datetime.now(UTC)
    starts_at = body.starts_at or now
    expires_at = body.expires_at or starts_at + timedelta(seconds=settings.room_default_ttl_s)
    if expires_at <= max(now, starts_at):
        raise Invalid("expires_at must be after starts_at and in the future.", code="invalid_expiry")
    if expires_at - starts_at > timedelta(seconds=settings.room_max_ttl_s):
        raise Invalid(
            f"A room may last at most {settings.room_max_ttl_s} seconds from its start.",
            code="invalid_expiry",
        )
    if _json_size(body.metadata) > MAX_METADATA_BYTES:
        raise Invalid(
            f"metadata may hold at most {MAX_METADATA_BYTES} bytes of JSON.", code="metadata_too_large"
        )
    room = Room(
        id=crud.new_room_id(),
        title=body.title,
        starts_at=starts_at,
        expires_at=expires_at,
        meta=body.metadata,
        api_key_id=api_key.id if api_key else None,
    )
    room, people = await crud.create_room(
        session, room=room, host=(body.host.name, body.host.phone), guest=(body.guest.name, body.guest.phone)
    )
    return to_public(services, room, people, now)


def _json_size(value: object) -> int:
    return len(json.dumps(value, separators=(",", ":")).encode())


async def _room_or_404(session: AsyncSession, room_id: str) -> Room:
    room = await crud.get_room(session, room_id=room_id)
    if room is None:
        raise NotFound(f"No room with id {room_id!r}.", code="room_not_found")
    return room


async def get_room(services: Services, session: AsyncSession, *, room_id: str) -> RoomPublic:
    await services.events.flush()  # live flags are written in batches; read them settled
    room = await _room_or_404(session, room_id)
    people = await crud.get_participants(session, room_ids=[room.id])
    return to_public(services, room, people[room.id], datetime.now(UTC))


async def list_rooms(
    services: Services, session: AsyncSession, *, state: RoomState | None, limit: int, offset: int
) -> RoomPage:
    await services.events.flush()
    now = datetime.now(UTC)
    rooms, total = await crud.list_rooms(session, now=now, state=state, limit=limit, offset=offset)
    people = await crud.get_participants(session, room_ids=[room.id for room in rooms])
    items = [to_public(services, room, people[room.id], now) for room in rooms]
    return RoomPage(items=items, total=total, limit=limit, offset=offset)


async def end_room(services: Services, session: AsyncSession, *, room_id: str) -> RoomPublic:
    """End a room: nobody can join any more, and whoever is connected is told and disconnected.

    Ending an ended room is allowed and changes nothing (idempotent); an expired room is over already.
    """
    room = await _room_or_404(session, room_id)
    now = datetime.now(UTC)
    state = room_state(room, now)
    if state is RoomState.EXPIRED:
        raise Conflict("This room has expired already.", code="room_expired")
    if state is not RoomState.ENDED:
        await services.live.end(room_id)
        await services.events.flush()
        room = await crud.end_room(session, room=room, now=now)
    people = await crud.get_participants(session, room_ids=[room.id])
    return to_public(services, room, people[room.id], now)


async def room_events(services: Services, session: AsyncSession, *, room_id: str) -> EventPage:
    await services.events.flush()
    await _room_or_404(session, room_id)
    events = await crud.list_events(session, room_id=room_id)
    return EventPage(
        items=[EventPublic(id=e.id or 0, type=e.type, role=e.role, at=e.at, data=e.data) for e in events]
    )
