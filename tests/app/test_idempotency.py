"""``Idempotency-Key``: a retried POST returns the first answer instead of doing it twice."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from conftest import RunningServer

BODY: dict[str, Any] = {"title": "Mentoring", "host": {"name": "Ana"}, "guest": {"name": "Ben"}}


@pytest.fixture
def server_settings() -> dict[str, Any]:
    return {"webhook_allow_hosts": ["127.0.0.1"]}


async def rooms_of(server: RunningServer, api_key: str | None = None) -> int:
    async with server.client(api_key) as api:
        return int((await api.get("/v1/rooms")).json()["total"])


async def test_a_retried_create_returns_the_same_room(server: RunningServer) -> None:
    async with server.client() as api:
        first = await api.post("/v1/rooms", json=BODY, headers={"Idempotency-Key": "booking-17"})
        again = await api.post("/v1/rooms", json=BODY, headers={"Idempotency-Key": "booking-17"})
        other = await api.post("/v1/rooms", json=BODY, headers={"Idempotency-Key": "booking-18"})
    assert first.status_code == again.status_code == other.status_code == 201
    assert again.json()["id"] == first.json()["id"] != other.json()["id"]
    assert again.headers.get("idempotent-replayed") == "true"
    assert await rooms_of(server) == 2


async def test_the_same_key_with_another_body_is_a_conflict(server: RunningServer) -> None:
    async with server.client() as api:
        await api.post("/v1/rooms", json=BODY, headers={"Idempotency-Key": "k1"})
        changed = await api.post(
            "/v1/rooms", json={**BODY, "title": "Other"}, headers={"Idempotency-Key": "k1"}
        )
    assert changed.status_code == 409
    assert changed.json()["code"] == "idempotency_key_reused"
    assert await rooms_of(server) == 1


async def test_keys_belong_to_their_api_key(server: RunningServer) -> None:
    other_key = await server.make_api_key("other")
    async with server.client() as mine, server.client(other_key) as theirs:
        a = await mine.post("/v1/rooms", json=BODY, headers={"Idempotency-Key": "shared"})
        b = await theirs.post("/v1/rooms", json=BODY, headers={"Idempotency-Key": "shared"})
    assert a.status_code == b.status_code == 201 and a.json()["id"] != b.json()["id"]


async def test_an_error_is_not_kept_so_a_fixed_request_goes_through(server: RunningServer) -> None:
    past = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    async with server.client() as api:
        bad = await api.post(
            "/v1/rooms", json={**BODY, "expires_at": past}, headers={"Idempotency-Key": "k2"}
        )
        fixed = await api.post("/v1/rooms", json=BODY, headers={"Idempotency-Key": "k2"})
    assert bad.status_code == 422
    assert fixed.status_code == 201


async def test_concurrent_retries_make_one_room(server: RunningServer) -> None:
    async with server.client() as api:
        answers = await asyncio.gather(
            *(api.post("/v1/rooms", json=BODY, headers={"Idempotency-Key": "burst"}) for _ in range(5))
        )
    made = {a.json()["id"] for a in answers if a.status_code == 201}
    assert len(made) == 1
    assert {a.status_code for a in answers} <= {201, 409}
    assert await rooms_of(server) == 1


async def test_a_bad_key_is_refused(server: RunningServer) -> None:
    async with server.client() as api:
        response = await api.post("/v1/rooms", json=BODY, headers={"Idempotency-Key": "x" * 101})
    assert response.status_code == 422
    assert await rooms_of(server) == 0


async def test_a_retried_rotation_rotates_once(server: RunningServer) -> None:
    async with server.client() as api:
        made = (await api.post("/v1/webhooks", json={"url": "http://127.0.0.1:9/hook"})).json()
        path = f"/v1/webhooks/{made['id']}/rotate-secret"
        first = await api.post(path, headers={"Idempotency-Key": "rot-1"})
        again = await api.post(path, headers={"Idempotency-Key": "rot-1"})
        elsewhere = await api.post("/v1/rooms", json=BODY, headers={"Idempotency-Key": "rot-1"})
    assert first.status_code == again.status_code == 200
    assert first.json()["secret"] == again.json()["secret"] != made["secret"]
    assert elsewhere.status_code == 409  # the same key for another operation
