"""Rooms are scoped to the API key that created them, against a real server (SQLite and PostgreSQL):
another key gets the same 404 as for a room that does not exist, on every room route, and does not
list it; rooms made without a key are seen only by admin keys."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from conftest import RunningServer

from app import crud
from app.db import Database
from app.models import Participant, Room
from signaling.messages import Role

ROUTES = [
    ("GET", ""),
    ("PATCH", ""),
    ("POST", "/end"),
    ("GET", "/events"),
    ("GET", "/report"),
]
"""Every ``/v1/rooms/{id}…`` route, as (method, path after the id)."""


async def _each_route(api: httpx.AsyncClient, room_id: str) -> list[tuple[int, dict[str, Any]]]:
    answers = []
    for method, tail in ROUTES:
        body = {"title": "Taken over"} if method == "PATCH" else None
        response = await api.request(method, f"/v1/rooms/{room_id}{tail}", json=body)
        answers.append((response.status_code, response.json()))
    return answers


def _not_found(room_id: str) -> tuple[int, dict[str, Any]]:
    return 404, {"code": "room_not_found", "message": f"No room with id {room_id!r}."}


async def test_another_key_is_told_the_room_does_not_exist_and_changes_nothing(server: RunningServer) -> None:
    mine = await server.create_room(title="Ana and Ben")
    other_key = await server.make_api_key("other platform")
    async with server.client(other_key) as other:
        theirs = (
            await other.post("/v1/rooms", json={"title": "t", "host": {"name": "C"}, "guest": {"name": "D"}})
        ).json()
        # The same answer as for a room that was never made: nothing says that it exists.
        assert await _each_route(other, mine["id"]) == [_not_found(mine["id"])] * len(ROUTES)
        missing = "x" * len(mine["id"])
        assert await _each_route(other, missing) == [_not_found(missing)] * len(ROUTES)
        listed = (await other.get("/v1/rooms")).json()
        assert (listed["total"], [r["id"] for r in listed["items"]]) == (1, [theirs["id"]])
        assert (await other.get("/v1/rooms", params={"state": "open"})).json()["total"] == 1

    async with server.client() as api:  # the owner: untouched by the other key, and only its own room
        got = (await api.get(f"/v1/rooms/{mine['id']}")).json()
        assert got["title"] == "Ana and Ben" and got["state"] == "open" and got["ended_at"] is None
        listed = (await api.get("/v1/rooms")).json()
        assert (listed["total"], [r["id"] for r in listed["items"]]) == (1, [mine["id"]])
        theirs_seen = await api.get(f"/v1/rooms/{theirs['id']}")
        assert (theirs_seen.status_code, theirs_seen.json()) == _not_found(theirs["id"])
        # Every route still answers its owner.
        statuses = [status for status, _ in await _each_route(api, mine["id"])]
        assert statuses == [200] * len(ROUTES)


async def test_rooms_without_a_key_are_seen_only_by_admin_keys(server: RunningServer) -> None:
    # A room as rooms made before they had owners (the development demo room was made without a key).
    room_id, now = crud.new_room_id(), datetime.now(UTC)
    room = Room(id=room_id, title="From before", starts_at=now, expires_at=now + timedelta(hours=1))
    people = {role: Participant(room_id=room_id, role=role, name=role.value) for role in Role}
    db = Database(server.settings.database_url)
    try:
        async with db.session() as session:
            await crud.create_room(session, room=room, people=people)
    finally:
        await db.dispose()
    admin_key = await server.make_api_key("operations", admin=True)
    async with server.client() as api:
        assert await _each_route(api, room_id) == [_not_found(room_id)] * len(ROUTES)
        assert (await api.get("/v1/rooms")).json()["total"] == 0
    async with server.client(admin_key) as admin:
        listed = (await admin.get("/v1/rooms")).json()
        assert [r["id"] for r in listed["items"]] == [room_id]
        assert [status for status, _ in await _each_route(admin, room_id)] == [200] * len(ROUTES)
