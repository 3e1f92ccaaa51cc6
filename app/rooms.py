"""What the rooms API does, between the routes and crud.

Every room belongs to the API key that created it, and a key sees only its own rooms: another key's
room is "not found" (404, never 403, so that a key cannot learn that a room exists). A key made with
``--admin`` sees every room, rooms without a key (made before rooms had owners) included.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

from app import crud
from app.config import Settings
from app.errors import Conflict, Invalid, NotFound
from app.invites import InviteFacts, invite
from app.models import (
    MAX_METADATA_BYTES,
    PIN_DIGITS,
    ApiKey,
    DialIn,
    EventPage,
    JoinUrls,
    Participant,
    ParticipantPublic,
    Room,
    RoomCreate,
    RoomPage,
    RoomPublic,
    RoomState,
    RoomUpdate,
    room_state,
)
from app.report import SessionReport, session_report
from app.services import Services
from media.fallback_policy import RoomPolicy
from signaling.events import Ended, EndedData, Rescheduled, Scheduled, ScheduleData
from signaling.messages import Role

__all__ = [
    "create_room",
    "end_room",
    "get_room",
    "join_url",
    "list_rooms",
    "owner_seen_by",
    "room_events",
    "room_invite",
    "room_report",
    "to_public",
    "update_room",
]

PIN_DRAWS = 20
"""PINs tried for a new room before giving up (409 ``pin_exhausted``): with 8 digits, even a million
rooms not ended leave each draw a 99% chance."""


def join_url(services: Services, room: Room, role: Role) -> str:
    token = services.tokens.issue(room_id=room.id, role=role, expires_at=room.expires_at)
    return f"{services.settings.public_url}/s/{room.id}#t={token}"


def invite_for(services: Services, room: Room, people: dict[Role, Participant], role: Role) -> bytes:
    """One person's calendar invite (``app.invites``), with their own join link."""
    link = join_url(services, room, role)
    settings = services.settings
    facts = InviteFacts(
        role=role,
        name=people[role].name,
        other_name=people[role.other].name,
        join_url=link,
        check_url=link.replace("#", "/check#", 1),
        public_url=settings.public_url,
        dial_in=settings.phone_dial_in,
        pin=room.dial_in_pin,
        join_early_min=settings.join_early_s // 60,
    )
    return invite(room, facts, now=datetime.now(UTC))


async def room_invite(
    services: Services, session: AsyncSession, *, caller: ApiKey, room_id: str, role: Role
) -> bytes:
    room = await _room_or_404(session, caller, room_id)
    people = (await crud.get_participants(session, room_ids=[room.id]))[room.id]
    return invite_for(services, room, people, role)


def to_public(services: Services, room: Room, people: dict[Role, Participant], now: datetime) -> RoomPublic:
    def person(role: Role) -> ParticipantPublic:
        p = people[role]
        return ParticipantPublic(role=role, name=p.name, phone=p.phone, share_phone=p.share_phone)

    number = services.settings.phone_dial_in
    dial_in = DialIn(number=number, pin=room.dial_in_pin) if number and room.dial_in_pin else None

    return RoomPublic(
        id=room.id,
        title=room.title,
        state=room_state(room, now),
        host=person(Role.HOST),
        guest=person(Role.GUEST),
        starts_at=room.starts_at,
        expires_at=room.expires_at,
        ends_at=room.ends_at,
        created_at=room.created_at,
        ended_at=room.ended_at,
        metadata=room.meta,
        fallback_policy=RoomPolicy(room.fallback_policy),
        no_show_grace_minutes=None if room.no_show_after_s is None else room.no_show_after_s / 60,
        dial_in=dial_in,
        join_urls=JoinUrls(
            host=join_url(services, room, Role.HOST), guest=join_url(services, room, Role.GUEST)
        ),
    )


async def create_room(
    services: Services, session: AsyncSession, *, body: RoomCreate, api_key: ApiKey
) -> RoomPublic:
    """Store a room owned by ``api_key``; the answer holds one join link per person."""
    settings, now = services.settings, datetime.now(UTC)
    starts_at = body.starts_at or now
    expires_at = body.expires_at or starts_at + timedelta(seconds=settings.room_default_ttl_s)
    _check_times(settings, starts_at, expires_at, now, ends_at=body.ends_at)
    if _json_size(body.metadata) > MAX_METADATA_BYTES:
        raise Invalid(
            f"metadata may hold at most {MAX_METADATA_BYTES} bytes of JSON.", code="metadata_too_large"
        )
    room_id = crud.new_room_id()
    room = Room(
        id=room_id,
        title=body.title,
        starts_at=starts_at,
        expires_at=expires_at,
        ends_at=body.ends_at,
        meta=body.metadata,
        fallback_policy=body.fallback_policy.value,
        no_show_after_s=None if body.no_show_grace_minutes is None else body.no_show_grace_minutes * 60,
        api_key_id=api_key.id,
    )
    people = {
        role: Participant(room_id=room_id, role=role, name=p.name, phone=p.phone, share_phone=p.share_phone)
        for role, p in ((Role.HOST, body.host), (Role.GUEST, body.guest))
    }
    try:
        room, people = await crud.create_room(
            session, room=room, people=people, pins=_pins() if settings.phone_dial_in else None
        )
    except crud.PinsExhausted:
        raise Conflict("Could not find a free phone PIN; try again.", code="pin_exhausted") from None
    times = ScheduleData(starts_at=starts_at, expires_at=expires_at, sequence=0)
    services.events.record(room.id, Scheduled(data=times))
    return to_public(services, room, people, now)


def _check_times(
    settings: Settings, starts_at: datetime, expires_at: datetime, now: datetime, *, ends_at: datetime | None
) -> None:
    if ends_at is not None and not starts_at < ends_at <= expires_at:
        raise Invalid("ends_at must be after starts_at and no later than expires_at.", code="invalid_end")
    if expires_at <= max(now, starts_at):
        raise Invalid("expires_at must be after starts_at and in the future.", code="invalid_expiry")
    if expires_at - starts_at > timedelta(seconds=settings.room_max_ttl_s):
        raise Invalid(
            f"A room may last at most {settings.room_max_ttl_s} seconds from its start.",
            code="invalid_expiry",
        )


def _pins(draws: int = PIN_DRAWS) -> Iterator[str]:
    """Random PINs, unrelated to the room id, for :func:`app.crud.create_room` to try in turn."""
    for _ in range(draws):
        yield "".join(secrets.choice("0123456789") for _ in range(PIN_DIGITS))


async def update_room(
    services: Services, session: AsyncSession, *, caller: ApiKey, room_id: str, body: RoomUpdate
) -> RoomPublic:
    """Change a room's title, fallback policy or times; a live room follows at once. New times
    (a reschedule) keep both join links valid, move the no-show timers, grow the calendar invite's
    SEQUENCE and send ``session.rescheduled``."""
    room = await _room_or_404(session, caller, room_id)
    now = datetime.now(UTC)
    if room_state(room, now) in (RoomState.ENDED, RoomState.EXPIRED):
        raise Conflict("This room is over and can no longer be changed.", code="room_over")
    changes: dict[str, object] = {}
    if body.title is not None:
        changes["title"] = body.title
    if body.fallback_policy is not None:
        changes["fallback_policy"] = body.fallback_policy.value
        services.live.set_policy(room_id, body.fallback_policy)
    moved = None
    if body.starts_at is not None or body.expires_at is not None or body.ends_at is not None:
        # A new start alone moves the whole session: its end and its closing keep their distance.
        shift = (body.starts_at - room.starts_at) if body.starts_at is not None else timedelta(0)
        starts_at = body.starts_at or room.starts_at
        expires_at = body.expires_at or room.expires_at + shift
        ends_at = body.ends_at or (room.ends_at + shift if room.ends_at is not None else None)
        if (starts_at, expires_at, ends_at) != (room.starts_at, room.expires_at, room.ends_at):
            _check_times(services.settings, starts_at, expires_at, now, ends_at=ends_at)
            sequence = room.schedule_sequence + 1
            changes.update(
                starts_at=starts_at, expires_at=expires_at, ends_at=ends_at, schedule_sequence=sequence
            )
            moved = ScheduleData(starts_at=starts_at, expires_at=expires_at, sequence=sequence)
    room = await crud.update_room(session, room=room, changes=changes)
    if moved is not None:
        services.live.reschedule(room_id, starts_at=moved.starts_at, expires_at=moved.expires_at)
        services.events.record(room_id, Rescheduled(data=moved))
    people = await crud.get_participants(session, room_ids=[room.id])
    return to_public(services, room, people[room.id], now)


def _json_size(value: object) -> int:
    return len(json.dumps(value, separators=(",", ":")).encode())


def owner_seen_by(caller: ApiKey) -> int | None:
    """The id of the key whose rooms ``caller`` sees: its own; ``None`` for an admin key (every room)."""
    if caller.admin:
        return None
    assert caller.id is not None, "an API key read from the database has an id"
    return caller.id


async def _room_or_404(session: AsyncSession, caller: ApiKey, room_id: str) -> Room:
    """The room, if ``caller`` may see it; another key's room is refused exactly like a missing one."""
    room = await crud.get_room(session, room_id=room_id)
    owner = owner_seen_by(caller)
    if room is None or (owner is not None and room.api_key_id != owner):
        raise NotFound(f"No room with id {room_id!r}.", code="room_not_found")
    return room


async def get_room(services: Services, session: AsyncSession, *, caller: ApiKey, room_id: str) -> RoomPublic:
    await services.events.flush()  # live flags are written in batches; read them settled
    room = await _room_or_404(session, caller, room_id)
    people = await crud.get_participants(session, room_ids=[room.id])
    return to_public(services, room, people[room.id], datetime.now(UTC))


async def list_rooms(
    services: Services,
    session: AsyncSession,
    *,
    caller: ApiKey,
    state: RoomState | None,
    limit: int,
    offset: int,
) -> RoomPage:
    await services.events.flush()
    now = datetime.now(UTC)
    rooms, total = await crud.list_rooms(
        session, owner=owner_seen_by(caller), now=now, state=state, limit=limit, offset=offset
    )
    people = await crud.get_participants(session, room_ids=[room.id for room in rooms])
    items = [to_public(services, room, people[room.id], now) for room in rooms]
    return RoomPage(items=items, total=total, limit=limit, offset=offset)


async def end_room(
    services: Services, session: AsyncSession, *, caller: ApiKey, room_id: str, reason: str | None = None
) -> RoomPublic:
    """End a room: nobody can join any more, and whoever is connected is told and disconnected.
    Ending it before its start cancels it (``session.ended`` says ``cancelled``, with ``reason``).

    Ending an ended room is allowed and changes nothing (idempotent); an expired room is over already.
    """
    room = await _room_or_404(session, caller, room_id)
    now = datetime.now(UTC)
    state = room_state(room, now)
    if state is RoomState.EXPIRED:
        raise Conflict("This room has expired already.", code="room_expired")
    if state is not RoomState.ENDED:
        if not services.live.end(room_id, reason=reason):  # not in memory: nobody to disconnect
            services.events.record(room_id, Ended(data=EndedData(reason=reason)))
        await services.events.flush()
        room = await crud.end_room(session, room=room, now=now)
        if services.phone is not None:
            await services.phone.end_room(room_id)
    people = await crud.get_participants(session, room_ids=[room.id])
    return to_public(services, room, people[room.id], now)


async def room_events(
    services: Services,
    session: AsyncSession,
    *,
    caller: ApiKey,
    room_id: str,
    limit: int,
    after: int | None = None,
) -> EventPage:
    """Up to ``limit`` of the room's events after the event id ``after``, and the cursor to the next."""
    await services.events.flush()
    await _room_or_404(session, caller, room_id)
    events = await crud.list_events(session, room_id=room_id, after=after, limit=limit + 1)
    page = events[:limit]
    return EventPage(
        items=page,
        next=page[-1].id if len(events) > limit else None,
    )


async def room_report(
    services: Services, session: AsyncSession, *, caller: ApiKey, room_id: str
) -> SessionReport:
    await services.events.flush()
    room = await _room_or_404(session, caller, room_id)
    people = (await crud.get_participants(session, room_ids=[room.id]))[room.id]
    events = await crud.list_events(session, room_id=room_id)
    names = {role: person.name for role, person in people.items()}
    now = datetime.now(UTC)
    tracker = services.webhooks.outbox.replayed(room, people, events)
    report = session_report(room_id=room.id, names=names, events=events, now=now)
    return report.model_copy(update={"attendance": tracker.settled(now).attendance(now)})
