"""Inputs out of range are 422s with the JSON error body, never 500s (issue 10, "Unhandled 500s").

The probes: ``GET /v1/rooms?offset=10**30`` overflowed the database driver's integer, and a room
starting in year 9999 overflowed a datetime when its lifetime was added; both were 500s.
"""

from __future__ import annotations

from typing import Any

import pytest
from conftest import RunningServer

from app.api.routes.rooms import MAX_OFFSET


@pytest.mark.parametrize(
    "params",
    [{"offset": 10**30}, {"offset": MAX_OFFSET + 1}, {"offset": -1}, {"limit": 10**30}, {"limit": 0}],
)
async def test_listing_bounds(server: RunningServer, params: dict[str, int]) -> None:
    async with server.client() as client:
        response = await client.get("/v1/rooms", params=params)
    assert response.status_code == 422, response.text
    field = next(iter(params))
    assert (
        response.json()["code"] == "invalid_request"
        and response.json()["errors"][0]["field"] == f"query.{field}"
    )


async def test_the_largest_offset_lists_nothing(server: RunningServer) -> None:
    await server.create_room()
    async with server.client() as client:
        response = await client.get("/v1/rooms", params={"offset": MAX_OFFSET})
    assert response.status_code == 200, response.text
    assert (response.json()["items"], response.json()["total"]) == ([], 1)


@pytest.mark.parametrize(
    "times",
    [
        {"starts_at": "9999-12-31T00:00:00Z"},
        {"starts_at": "9999-12-31T23:00:00-05:00", "expires_at": "9999-12-31T23:30:00-05:00"},
        {"expires_at": "9999-12-31T23:59:59Z"},
        {"starts_at": "2100-01-01T00:00:00Z"},
        {"starts_at": "1969-12-31T23:59:59Z", "expires_at": "2030-01-01T00:00:00Z"},
        {"starts_at": "0001-01-01T00:00:00+05:00"},
        {"starts_at": 10**30},
        {"starts_at": 4_102_444_800},  # 2100-01-01 as UNIX seconds
    ],
)
async def test_times_out_of_range(server: RunningServer, times: dict[str, Any]) -> None:
    async with server.client() as client:
        response = await client.post(
            "/v1/rooms", json={"title": "t", "host": {"name": "Ana"}, "guest": {"name": "Ben"}, **times}
        )
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "invalid_request" and response.json()["message"]


async def test_the_last_day_in_range_is_fine(server: RunningServer) -> None:
    room = await server.create_room(starts_at="2099-12-31T00:00:00Z")  # expires a day later, in 2100
    assert room["state"] == "scheduled" and room["expires_at"].startswith("2100-01-01")


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/v1/rooms/a%00b"),
        ("GET", "/v1/rooms/a%00b/events"),
        ("POST", "/v1/rooms/a%00b/end"),
        ("POST", "/s/a%00b/preview"),
        ("POST", "/s/a%00b/check/config"),
        ("GET", "/s/a%00b"),
    ],
)
async def test_room_ids_are_checked_before_a_database_sees_them(
    server: RunningServer, method: str, path: str
) -> None:
    # PostgreSQL refuses a NUL in text with an error: a room id is URL-safe base64 or it is a 422.
    async with server.client() as client:
        response = await client.request(method, path, json={"token": "t"} if method == "POST" else None)
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"] == "path.room_id"
