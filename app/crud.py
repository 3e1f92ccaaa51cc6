"""Everything that reads or writes the database. Keyword-only functions on an async session."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, bindparam, func, insert, or_, update
from sqlalchemy import select as core_select
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.models import ApiKey, Event, Participant, Room, RoomState
from signaling.events import RoomEvent, parse_event
from signaling.messages import Role

__all__ = [
    "PinsExhausted",
    "add_events",
    "api_key_by_secret",
    "api_keys_named",
    "clear_live",
    "count_api_keys",
    "count_events_since",
    "count_room_events",
    "create_api_key",
    "create_room",
    "end_room",
    "get_participants",
    "get_room",
    "get_room_and_participants",
    "list_api_keys",
    "list_events",
    "list_events_of_rooms",
    "list_rooms",
    "live_room_ids",
    "new_api_key",
    "new_room_id",
    "revoke_api_key",
    "rooms_starting",
    "rooms_with_pin",
    "rooms_with_timers",
    "set_live",
    "update_room",
]

API_KEY_PREFIX = "duet_"


def new_api_key() -> str:
    """A fresh key: 256 random bits, URL-safe, recognisable by its prefix."""
    return API_KEY_PREFIX + secrets.token_urlsafe(32)


def _hash_key(key: str) -> str:
    # A key carries 256 random bits, so a fast hash is enough: no dictionary to guard against
    # (the reasoning GitHub and Stripe apply to their tokens); bcrypt would only slow each request.
    return hashlib.sha256(key.encode()).hexdigest()


async def create_api_key(session: AsyncSession, *, name: str, key: str, admin: bool = False) -> ApiKey:
    record = ApiKey(name=name, prefix=key[: len(API_KEY_PREFIX) + 4], key_hash=_hash_key(key), admin=admin)
    session.add(record)
    await session.commit()
    return record


async def api_key_by_secret(session: AsyncSession, *, key: str) -> ApiKey | None:
    result = await session.exec(
        select(ApiKey).where(ApiKey.key_hash == _hash_key(key), col(ApiKey.revoked_at).is_(None))
    )
    return result.first()


async def list_api_keys(session: AsyncSession) -> list[ApiKey]:
    """Every key, revoked ones included, oldest first."""
    return list(await session.exec(select(ApiKey).order_by(col(ApiKey.created_at), col(ApiKey.id))))


async def api_keys_named(session: AsyncSession, *, name_or_prefix: str) -> list[ApiKey]:
    """The keys whose name, or whose stored prefix, is exactly ``name_or_prefix`` (oldest first)."""
    query = select(ApiKey).where(
        or_(col(ApiKey.name) == name_or_prefix, col(ApiKey.prefix) == name_or_prefix)
    )
    return list(await session.exec(query.order_by(col(ApiKey.created_at), col(ApiKey.id))))


async def revoke_api_key(session: AsyncSession, *, key: ApiKey, now: datetime) -> ApiKey:
    """Mark ``key`` revoked at ``now``: ``api_key_by_secret`` no longer finds it."""
    key.revoked_at = now
    session.add(key)
    await session.commit()
    return key


async def count_api_keys(session: AsyncSession) -> int:
    return (await session.exec(select(func.count()).select_from(ApiKey))).one()


def new_room_id() -> str:
    """128 random bits, URL-safe (22 characters): unguessable."""
    return secrets.token_urlsafe(16)


class PinsExhausted(Exception):
    """Every PIN offered for a new room was held by another room not ended."""


async def create_room(
    session: AsyncSession,
    *,
    room: Room,
    people: dict[Role, Participant],
    pins: Iterable[str] | None = None,
) -> tuple[Room, dict[Role, Participant]]:
    """Store a room and its two people. With ``pins``, the room gets the first of them that no room
    not ended holds: the database's unique index decides (``ux_room_dial_in_pin_not_ended``), so two
    rooms stored at the same moment, by this process or another, never share one; a PIN taken
    already makes the insert fail and the next is tried. Raises :class:`PinsExhausted`."""
    for pin in [None] if pins is None else pins:
        room.dial_in_pin = pin
        session.add(room)
        try:
            await session.flush()
        except IntegrityError as exc:
            await session.rollback()
            if pin is None or "dial_in_pin" not in str(exc.orig):
                raise
            continue
        session.add_all(people.values())
        await session.commit()
        return room, people
    raise PinsExhausted("every PIN drawn for the room is held by another room")


async def rooms_with_pin(session: AsyncSession, *, pin: str, limit: int = 5) -> list[Room]:
    """The newest rooms that were given ``pin`` (at most one of them can still be joined)."""
    query = (
        select(Room)
        .where(Room.dial_in_pin == pin)
        .order_by(col(Room.created_at).desc(), col(Room.id))
        .limit(limit)
    )
    return list(await session.exec(query))


async def update_room(session: AsyncSession, *, room: Room, changes: dict[str, object]) -> Room:
    for name, value in changes.items():
        setattr(room, name, value)
    session.add(room)
    await session.commit()
    return room


async def get_room(session: AsyncSession, *, room_id: str) -> Room | None:
    return await session.get(Room, room_id)


async def get_room_and_participants(
    session: AsyncSession, *, room_id: str
) -> tuple[Room, dict[Role, Participant]] | None:
    """A room and its two people in one round trip to the database (joining a room needs both)."""
    result = await session.exec(
        select(Room, Participant)
        .join(Participant, col(Participant.room_id) == col(Room.id))
        .where(col(Room.id) == room_id)
    )
    rows = list(result)
    if not rows:
        return None
    return rows[0][0], {person.role: person for _, person in rows}


async def get_rooms_and_participants(
    session: AsyncSession, *, room_ids: Sequence[str]
) -> dict[str, tuple[Room, dict[Role, Participant]]]:
    """Rooms and their two people in one round trip (rooms not found are left out)."""
    result = await session.exec(
        select(Room, Participant)
        .join(Participant, col(Participant.room_id) == col(Room.id))
        .where(col(Room.id).in_(room_ids))
    )
    out: dict[str, tuple[Room, dict[Role, Participant]]] = {}
    for room, person in result:
        out.setdefault(room.id, (room, {}))[1][person.role] = person
    return out


async def get_participants(
    session: AsyncSession, *, room_ids: Sequence[str]
) -> dict[str, dict[Role, Participant]]:
    result = await session.exec(select(Participant).where(col(Participant.room_id).in_(room_ids)))
    out: dict[str, dict[Role, Participant]] = {rid: {} for rid in room_ids}
    for person in result:
        out[person.room_id][person.role] = person
    return out


async def list_rooms(
    session: AsyncSession,
    *,
    owner: int | None,
    now: datetime,
    state: RoomState | None,
    limit: int,
    offset: int,
) -> tuple[list[Room], int]:
    """Rooms newest first, only those the key with id ``owner`` created (``None``: every room),
    optionally only those in ``state`` (the SQL mirrors ``room_state``)."""
    query = select(Room)
    if owner is not None:
        query = query.where(col(Room.api_key_id) == owner)
    not_ended, not_expired = col(Room.ended_at).is_(None), col(Room.expires_at) > now
    match state:
        case RoomState.ENDED:
            query = query.where(col(Room.ended_at).is_not(None))
        case RoomState.EXPIRED:
            query = query.where(not_ended, col(Room.expires_at) <= now)
        case RoomState.LIVE:
            query = query.where(not_ended, not_expired, col(Room.live_since).is_not(None))
        case RoomState.SCHEDULED:
            query = query.where(
                not_ended, not_expired, col(Room.live_since).is_(None), col(Room.starts_at) > now
            )
        case RoomState.OPEN:
            query = query.where(
                not_ended, not_expired, col(Room.live_since).is_(None), col(Room.starts_at) <= now
            )
    total = (await session.exec(select(func.count()).select_from(query.subquery()))).one()
    page = await session.exec(
        query.order_by(col(Room.created_at).desc(), col(Room.id)).offset(offset).limit(limit)
    )
    return list(page), total


async def end_room(session: AsyncSession, *, room: Room, now: datetime) -> Room:
    room.ended_at = now
    room.live_since = None
    session.add(room)
    await session.commit()
    return room


async def live_room_ids(session: AsyncSession) -> set[str]:
    """Rooms marked as having someone connected (read at start-up: to the process before)."""
    return set(await session.exec(select(Room.id).where(col(Room.live_since).is_not(None))))


async def set_live(session: AsyncSession, *, room_id: str, now: datetime) -> None:
    """Mark a room as having someone connected since ``now`` (in the caller's transaction)."""
    await session.exec(
        update(Room).where(col(Room.id) == room_id, col(Room.live_since).is_(None)).values(live_since=now)
    )


async def clear_live(session: AsyncSession, *, room_id: str | None = None) -> None:
    """Mark a room (or, at start-up, every room) as having nobody connected (in the caller's
    transaction)."""
    statement = update(Room).values(live_since=None)
    if room_id is not None:
        statement = statement.where(col(Room.id) == room_id)
    await session.exec(statement)


async def set_live_many(session: AsyncSession, *, since: Sequence[tuple[str, datetime]]) -> None:
    """:func:`set_live` for many rooms in one statement (executemany; in the caller's transaction)."""
    if not since:
        return
    table = Room.__table__  # type: ignore[attr-defined]
    statement = (
        update(table)
        .where(table.c.id == bindparam("rid"), table.c.live_since.is_(None))
        .values(live_since=bindparam("now"))
    )
    connection = await session.connection()
    await connection.execute(statement, [{"rid": room_id, "now": now} for room_id, now in since])


async def clear_live_many(session: AsyncSession, *, room_ids: Sequence[str]) -> None:
    """:func:`clear_live` for many rooms in one statement (in the caller's transaction)."""
    if room_ids:
        await session.exec(update(Room).where(col(Room.id).in_(room_ids)).values(live_since=None))


async def add_events(session: AsyncSession, *, events: Sequence[Mapping[str, Any]]) -> None:
    """Insert ``events`` (rows of the ``event`` table: room_id, type, role, data, at) in one
    statement, in the caller's transaction. Plain rows, not ORM objects: a busy server records
    hundreds a second, and ORM instances, which reference their state in a cycle, would be left for
    the collector (young collections of hundreds of milliseconds at 4,000 sessions)."""
    if events:
        connection = await session.connection()
        await connection.execute(insert(Event.__table__), list(events))  # type: ignore[attr-defined]


async def count_events_since(
    session: AsyncSession, *, type_: str, since: datetime
) -> tuple[int, datetime | None]:
    """How many events of ``type_`` (in every room) happened at ``since`` or later, and the earliest."""
    query = select(func.count(), func.min(Event.at)).where(Event.type == type_, col(Event.at) >= since)
    count, earliest = (await session.exec(query)).one()
    return count, earliest


async def list_events(
    session: AsyncSession, *, room_id: str, after: int | None = None, limit: int | None = None
) -> list[RoomEvent]:
    """A room's events, oldest first: every one, or up to ``limit`` of those with an id above ``after``;
    each as its typed model (one this version does not know as ``UnknownEvent``)."""
    table = Event.__table__  # type: ignore[attr-defined]
    columns = (table.c.id, table.c.type, table.c.role, table.c.at, table.c.data)
    query = core_select(*columns).where(table.c.room_id == room_id)
    if after is not None:
        query = query.where(table.c.id > after)
    connection = await session.connection()
    rows = await connection.execute(query.order_by(table.c.id).limit(limit))
    return [parse_event(dict(row._mapping)) for row in rows]


async def rooms_starting(
    session: AsyncSession, *, owner: int | None, start: datetime, end: datetime, limit: int
) -> list[tuple[Room, dict[Role, Participant]]]:
    """Rooms (of the key ``owner``; ``None``: all) starting in ``[start, end)``, with their people,
    oldest first, at most ``limit``."""
    query = select(Room).where(col(Room.starts_at) >= start, col(Room.starts_at) < end)
    if owner is not None:
        query = query.where(col(Room.api_key_id) == owner)
    rooms = list(await session.exec(query.order_by(col(Room.starts_at)).limit(limit)))
    people = await get_participants(session, room_ids=[room.id for room in rooms])
    return [(room, people[room.id]) for room in rooms]


async def count_room_events(session: AsyncSession, *, room_id: str, type_: str, role: Role | None) -> int:
    """How many events of ``type_`` (by ``role``) a room has."""
    query = select(func.count()).where(Event.room_id == room_id, Event.type == type_, Event.role == role)
    return int((await session.exec(query)).one())


async def list_events_of_rooms(
    session: AsyncSession, *, room_ids: Sequence[str], types: Sequence[str] | None = None
) -> dict[str, list[RoomEvent]]:
    """Several rooms' events in one query (only ``types``, if given), each room's oldest first
    (typed, as :func:`list_events`)."""
    if not room_ids:
        return {}
    table = Event.__table__  # type: ignore[attr-defined]
    columns = (table.c.room_id, table.c.id, table.c.type, table.c.role, table.c.at, table.c.data)
    query = core_select(*columns).where(table.c.room_id.in_(room_ids)).order_by(table.c.id)
    if types is not None:
        query = query.where(table.c.type.in_(types))
    out: dict[str, list[RoomEvent]] = {}
    for row in await (await session.connection()).execute(query):
        fields = dict(row._mapping)
        out.setdefault(fields.pop("room_id"), []).append(parse_event(fields))
    return out


async def rooms_with_timers(session: AsyncSession, *, now: datetime, since: datetime) -> list[str]:
    """Rooms not ended that started after ``since`` without a no-show verdict yet, or that expired
    after ``since`` without an ``expired`` event (nobody was in them): their timers may be due."""
    no_show = select(Event.room_id).where(Event.type == "no_show")
    over = select(Event.room_id).where(col(Event.type).in_(("expired", "ended")))
    query = select(Room.id).where(
        col(Room.ended_at).is_(None),
        or_(
            and_(col(Room.starts_at) > since, col(Room.starts_at) <= now, col(Room.id).not_in(no_show)),
            and_(col(Room.expires_at) > since, col(Room.expires_at) <= now, col(Room.id).not_in(over)),
        ),
    )
    return list(await session.exec(query))
