"""LiveRooms on its own, over a real database: how rooms are loaded for joins.

The socket-level behaviour is tested through a real server (test_signaling_socket.py); these tests
reach the timing that a loaded server produces and a test server rarely does.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from conftest import make_settings

from app import crud
from app.db import Database
from app.event_log import EventLog
from app.live_rooms import JoinRefused, LiveRooms
from app.models import Participant, Room
from app.tokens import JoinTokens
from signaling.messages import Ping, Role

SECRET = "x" * 48


class _Socket:
    """Collects what the server sends."""

    def __init__(self) -> None:
        self.frames: list[dict[str, object]] = []

    async def send_text(self, data: str) -> None:
        self.frames.append(json.loads(data))

    async def close(self, code: int = 1000, reason: str | None = None) -> None:
        self.frames.append({"type": "closed", "code": code})


@pytest.fixture
async def live(tmp_path: Path, database_url: str) -> AsyncIterator[tuple[LiveRooms, Database]]:
    settings = make_settings(tmp_path / "data", 8000, database_url=database_url)
    db = Database(database_url)
    await db.migrate()
    events = EventLog(db, flush_interval_s=0.05)
    rooms = LiveRooms(settings=settings, db=db, tokens=JoinTokens(SECRET), events=events)
    try:
        yield rooms, db
    finally:
        await db.dispose()


async def _room(db: Database) -> str:
    room_id = crud.new_room_id()
    now = datetime.now(UTC)
    async with db.session() as session:
        await crud.create_room(
            session,
            room=Room(id=room_id, title="t", starts_at=now, expires_at=now + timedelta(hours=1)),
            people={
                Role.HOST: Participant(room_id=room_id, role=Role.HOST, name="Ana"),
                Role.GUEST: Participant(room_id=room_id, role=Role.GUEST, name="Ben"),
            },
        )
    return room_id


def _token(room_id: str, role: Role) -> str:
    return JoinTokens(SECRET).issue(
        room_id=room_id, role=role, expires_at=datetime.now(UTC) + timedelta(hours=1)
    )


async def _drained(socket: _Socket, count: int) -> list[str]:
    """The types of the frames sent, once ``count`` have been (the writer may run on the loop)."""
    for _ in range(1000):
        if len(socket.frames) >= count:
            break
        await asyncio.sleep(0)  # one turn of the loop at a time, never a wait on the clock
    return [str(frame["type"]) for frame in socket.frames]


async def test_a_room_let_go_by_the_sweep_before_its_joiners_resume_still_serves_them(
    live: tuple[LiveRooms, Database],
) -> None:
    """Under load the joiners of a freshly loaded room resume late; a sweep in between saw an empty
    room and dropped it. Seen as rooms whose two people were welcomed and then never heard again."""
    rooms, db = live
    room_id = await _room(db)
    load = rooms._load

    async def load_then_sweep(batch):  # type: ignore[no-untyped-def]
        outcomes = await load(batch)
        await rooms.sweep()  # the room is loaded and still empty: the sweep lets it go
        return outcomes

    rooms._load = load_then_sweep  # type: ignore[method-assign]
    host_socket, guest_socket = _Socket(), _Socket()
    host, guest = rooms.connect(host_socket), rooms.connect(guest_socket)
    await rooms.admit(host, room_id, _token(room_id, Role.HOST))
    await rooms.admit(guest, room_id, _token(room_id, Role.GUEST))
    rooms.handle(host, Ping(id=1))
    rooms.handle(guest, Ping(id=2))
    assert await _drained(host_socket, 3) == ["welcome", "peer-joined", "pong"]
    assert await _drained(guest_socket, 2) == ["welcome", "pong"]


async def test_rooms_asked_for_together_are_loaded_in_one_query(live: tuple[LiveRooms, Database]) -> None:
    rooms, db = live
    room_ids = [await _room(db) for _ in range(20)]
    batches: list[int] = []
    load = rooms._load

    async def counting(batch):  # type: ignore[no-untyped-def]
        batches.append(len(batch))
        return await load(batch)

    rooms._load = counting  # type: ignore[method-assign]
    joins = [
        rooms.admit(rooms.connect(_Socket()), room_id, _token(room_id, role))
        for room_id in room_ids
        for role in Role
    ]
    roles = await asyncio.gather(
        *joins,
        rooms.admit(rooms.connect(_Socket()), "nope", _token("nope", Role.HOST)),
        return_exceptions=True,
    )
    assert roles[:-1] == [Role.HOST, Role.GUEST] * 20
    assert isinstance(roles[-1], JoinRefused) and roles[-1].code == "room_not_found"
    assert sum(batches) == 21 and len(batches) <= 2, batches
