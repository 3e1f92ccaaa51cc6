"""Phone PINs are unique among rooms not ended, by the database's own index, on SQLite and PostgreSQL:
two rooms stored at the same moment never share one, and the PIN generator moves on when one is taken."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from app import crud
from app.db import Database
from app.models import PIN_DIGITS, Participant, Room
from app.rooms import _pins
from signaling.messages import Role

NOW = datetime(2026, 12, 1, 15, 0, tzinfo=UTC)


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    database = Database(database_url)
    await database.migrate()
    try:
        yield database
    finally:
        await database.dispose()


def new_room() -> tuple[Room, dict[Role, Participant]]:
    room_id = crud.new_room_id()
    room = Room(id=room_id, title="Weekly mentoring", starts_at=NOW, expires_at=NOW + timedelta(days=1))
    people = {role: Participant(room_id=room_id, role=role, name=role.value) for role in Role}
    return room, people


async def store(db: Database, pins: Iterator[str] | list[str]) -> Room:
    room, people = new_room()
    async with db.session() as session:
        stored, _ = await crud.create_room(session, room=room, people=people, pins=pins)
    return stored


async def test_a_pin_taken_by_a_room_not_ended_is_skipped(db: Database) -> None:
    first = await store(db, ["12345678"])
    second = await store(db, ["12345678", "87654321"])
    assert (first.dial_in_pin, second.dial_in_pin) == ("12345678", "87654321")
    with pytest.raises(crud.PinsExhausted):
        await store(db, ["12345678", "87654321"])
    async with db.session() as session:  # the failed tries left nothing behind
        assert len(await crud.rooms_with_pin(session, pin="12345678")) == 1


async def test_two_rooms_stored_together_never_share_a_pin(db: Database) -> None:
    """The probe: two rooms created at the same moment drew the same PIN, and both kept it."""
    rooms = await asyncio.gather(*(store(db, iter(["24681357", f"1357246{n}"])) for n in range(2)))
    pins = sorted(room.dial_in_pin or "" for room in rooms)
    assert pins[0] != pins[1] and "24681357" in pins


async def test_the_index_itself_refuses_a_second_room_not_ended(db: Database) -> None:
    await store(db, ["11112222"])
    room, _ = new_room()
    room.dial_in_pin = "11112222"
    async with db.session() as session:
        session.add(room)
        with pytest.raises(IntegrityError):
            await session.flush()


async def test_an_ended_rooms_pin_may_be_given_again(db: Database) -> None:
    old = await store(db, ["55556666"])
    async with db.session() as session:
        stored = await crud.get_room(session, room_id=old.id)
        assert stored is not None
        await crud.end_room(session, room=stored, now=NOW)
    assert (await store(db, ["55556666"])).dial_in_pin == "55556666"


async def test_0003_keeps_a_shared_pin_on_the_newest_room_only(database_url: str) -> None:
    db = Database(database_url)
    created = datetime(2026, 11, 25, 15, 0)  # naive UTC, as the columns hold it
    try:
        await db.migrate("0002")
        async with db.engine.begin() as conn:
            for room_id, minutes, ended in (("old", 0, None), ("new", 5, None), ("done", 1, created)):
                at = created + timedelta(minutes=minutes)
                await conn.execute(
                    sa.text(
                        "INSERT INTO room (id, title, starts_at, expires_at, created_at, ended_at, metadata,"
                        " fallback_policy, dial_in_pin)"
                        " VALUES (:id, 't', :at, :later, :at, :ended, '{}', 'prompt', '123456')"
                    ),
                    {"id": room_id, "at": at, "later": at + timedelta(days=1), "ended": ended},
                )
        await db.migrate()
        async with db.session() as session:
            pins = {r.id: r.dial_in_pin for r in await crud.rooms_with_pin(session, pin="123456")}
            old = await crud.get_room(session, room_id="old")
        assert pins == {"new": "123456", "done": "123456"}  # an ended room keeps its PIN ("has ended")
        assert old is not None and old.dial_in_pin is None
    finally:
        await db.dispose()


def test_new_pins_have_8_digits() -> None:
    drawn = list(_pins(50))
    assert PIN_DIGITS == 8 and all(len(pin) == 8 and pin.isdigit() for pin in drawn)
    assert len(set(drawn)) > 45
