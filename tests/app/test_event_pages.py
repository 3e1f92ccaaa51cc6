"""``GET /v1/rooms/{id}/events`` in pages: ``limit`` at a time, ``after`` the last id seen, ``next``."""

from __future__ import annotations

import pytest
from conftest import RunningServer

from app import crud
from app.db import Database
from app.models import utcnow


async def _add_events(server: RunningServer, room_id: str, count: int) -> None:
    db = Database(server.settings.database_url)
    try:
        async with db.session() as session:
            rows = [
                {"room_id": room_id, "type": "joined", "role": None, "data": {"n": n}, "at": utcnow()}
                for n in range(count)
            ]
            await crud.add_events(session, events=rows)
            await session.commit()
    finally:
        await db.dispose()


async def test_pages_cover_every_event_once_in_order(server: RunningServer) -> None:
    room = await server.create_room()
    await _add_events(server, room["id"], 1200)
    seen: list[int] = []
    pages: list[int] = []
    params: dict[str, int] = {}
    async with server.client() as api:
        while True:
            response = await api.get(f"/v1/rooms/{room['id']}/events", params=params)
            assert response.status_code == 200, response.text
            page = response.json()
            pages.append(len(page["items"]))
            seen += [item["data"]["n"] for item in page["items"] if item["type"] == "joined"]
            if page["next"] is None:
                break
            assert page["next"] == page["items"][-1]["id"]
            params = {"after": page["next"]}
        small = (await api.get(f"/v1/rooms/{room['id']}/events", params={"limit": 1000})).json()
    assert pages == [500, 500, 201]  # the default limit is 500; the room's "scheduled" comes first
    assert seen == list(range(1200))
    assert len(small["items"]) == 1000 and small["next"] == small["items"][-1]["id"]


@pytest.mark.parametrize(
    "params",
    [{"limit": 0}, {"limit": 1001}, {"limit": "x"}, {"after": -1}, {"after": "x"}, {"after": 2**31}],
)
async def test_bad_limit_or_after_is_422(server: RunningServer, params: dict[str, object]) -> None:
    room = await server.create_room()
    async with server.client() as api:
        response = await api.get(f"/v1/rooms/{room['id']}/events", params=params)
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["code"] == "invalid_request" and next(iter(params)) in body["message"], body
