"""The REST API against a real server: every endpoint, auth failures, validation errors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from conftest import RunningServer
from wsclient import joined, split_join_url


def iso(dt: datetime) -> str:
    return dt.isoformat().replace("+00:00", "Z")


async def test_create_room_returns_links_for_both(server: RunningServer) -> None:
    room = await server.create_room(
        title="Career chat",
        host={"name": "Ana", "phone": "+14155550123", "share_phone": True},
        guest={"name": "Ben"},
        metadata={"booking": 42, "tags": ["mentoring"]},
    )
    assert len(room["id"]) >= 22 and room["state"] == "open"
    assert room["host"] == {"role": "host", "name": "Ana", "phone": "+14155550123", "share_phone": True}
    assert room["guest"] == {"role": "guest", "name": "Ben", "phone": None, "share_phone": False}
    assert room["fallback_policy"] == "prompt" and room["dial_in"] is None  # no phone bridge configured
    assert room["metadata"] == {"booking": 42, "tags": ["mentoring"]}
    for role in ("host", "guest"):
        url = room["join_urls"][role]
        assert url.startswith(f"{server.url}/s/{room['id']}#t=")
        assert split_join_url(url)[0] == room["id"]
    assert room["join_urls"]["host"] != room["join_urls"]["guest"]
    created, expires = datetime.fromisoformat(room["starts_at"]), datetime.fromisoformat(room["expires_at"])
    assert expires - created == timedelta(seconds=server.settings.room_default_ttl_s)


async def test_room_ids_are_unique_and_unguessable(server: RunningServer) -> None:
    ids = {(await server.create_room())["id"] for _ in range(5)}
    assert len(ids) == 5 and all(len(i) >= 22 for i in ids)


async def test_get_list_and_filter(server: RunningServer) -> None:
    soon = datetime.now(UTC) + timedelta(hours=2)
    scheduled = await server.create_room(starts_at=iso(soon))
    open_room = await server.create_room()
    async with server.client() as api:
        got = await api.get(f"/v1/rooms/{scheduled['id']}")
        assert got.status_code == 200 and got.json()["state"] == "scheduled"
        assert got.json()["join_urls"] == scheduled["join_urls"]

        everything = (await api.get("/v1/rooms")).json()
        assert everything["total"] == 2
        assert [r["id"] for r in everything["items"]] == [open_room["id"], scheduled["id"]]  # newest first

        only_scheduled = (await api.get("/v1/rooms", params={"state": "scheduled"})).json()
        assert [r["id"] for r in only_scheduled["items"]] == [scheduled["id"]]
        only_open = (await api.get("/v1/rooms", params={"state": "open"})).json()
        assert [r["id"] for r in only_open["items"]] == [open_room["id"]]

        page = (await api.get("/v1/rooms", params={"limit": 1, "offset": 1})).json()
        assert page["total"] == 2 and [r["id"] for r in page["items"]] == [scheduled["id"]]

        await api.post(f"/v1/rooms/{open_room['id']}/end")
        ended = (await api.get("/v1/rooms", params={"state": "ended"})).json()
        assert [r["id"] for r in ended["items"]] == [open_room["id"]]


async def test_live_while_someone_is_connected(server: RunningServer) -> None:
    room = await server.create_room()
    client, _ = await joined(server.ws_url(room["id"]), room["join_urls"]["guest"])
    async with server.client() as api:
        assert (await api.get(f"/v1/rooms/{room['id']}")).json()["state"] == "live"
        live = (await api.get("/v1/rooms", params={"state": "live"})).json()
        assert [r["id"] for r in live["items"]] == [room["id"]]
        await client.close()
        for _ in range(50):  # the socket's close reaches the server asynchronously
            if (await api.get(f"/v1/rooms/{room['id']}")).json()["state"] == "open":
                break
        assert (await api.get(f"/v1/rooms/{room['id']}")).json()["state"] == "open"


async def test_end_is_idempotent_and_recorded(server: RunningServer) -> None:
    room = await server.create_room()
    async with server.client() as api:
        first = await api.post(f"/v1/rooms/{room['id']}/end")
        second = await api.post(f"/v1/rooms/{room['id']}/end")
        assert first.status_code == second.status_code == 200
        assert first.json()["ended_at"] == second.json()["ended_at"] is not None
        events = (await api.get(f"/v1/rooms/{room['id']}/events")).json()["items"]
    # Nobody was connected: the room's making and its end, recorded once.
    assert [(e["type"], e["data"]) for e in events][1:] == [("ended", {"reason": None})]
    assert events[0]["type"] == "scheduled"


@pytest.mark.parametrize("server_settings", [{"sweep_interval_s": 0.1, "reconnect_grace_s": 0.2}])
async def test_events_of_a_session(server: RunningServer) -> None:
    room = await server.create_room()
    ws = server.ws_url(room["id"])
    host, _ = await joined(ws, room["join_urls"]["host"])
    guest, _ = await joined(ws, room["join_urls"]["guest"])
    await host.recv_type("peer-joined")
    await guest.close()
    await host.recv_type("peer-left")
    async with server.client() as api:
        await api.post(f"/v1/rooms/{room['id']}/end")
        events = (await api.get(f"/v1/rooms/{room['id']}/events")).json()["items"]
    assert [(e["type"], e["role"]) for e in events] == [
        ("scheduled", None),
        ("joined", "host"),
        ("joined", "guest"),
        ("reconnecting", "guest"),
        ("left", "guest"),
        ("ended", None),
    ]
    assert events[3]["data"] == events[4]["data"] == {"reason": "closed"}
    times = [datetime.fromisoformat(e["at"]) for e in events]
    assert times == sorted(times) and all(t.tzinfo is not None for t in times)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/v1/rooms"),
        ("GET", "/v1/rooms"),
        ("GET", "/v1/rooms/abc"),
        ("POST", "/v1/rooms/abc/end"),
        ("GET", "/v1/rooms/abc/events"),
        ("PATCH", "/v1/rooms/abc"),
        ("GET", "/v1/rooms/abc/report"),
    ],
)
@pytest.mark.parametrize(
    ("headers", "code"),
    [
        ({}, "missing_api_key"),
        ({"Authorization": "Bearer duet_wrong"}, "invalid_api_key"),
        ({"Authorization": "Basic dXNlcjpwYXNz"}, "missing_api_key"),
    ],
)
async def test_every_endpoint_needs_an_api_key(
    server: RunningServer, method: str, path: str, headers: dict[str, str], code: str
) -> None:
    async with httpx.AsyncClient(base_url=server.url, trust_env=False) as anonymous:
        response = await anonymous.request(method, path, headers=headers, json={})
    assert response.status_code == 401
    assert response.json()["code"] == code and response.json()["message"]
    assert response.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"title": ""}, "title"),
        ({"title": "x" * 201}, "title"),
        ({"title": "Weekly\x00mentoring"}, "title"),  # PostgreSQL cannot store NUL in text
        ({"host": {"name": "A\x00na"}}, "host.name"),
        ({"host": {"name": ""}}, "host.name"),
        ({"guest": None}, "guest"),
        ({"guest": {"name": "Ben", "phone": "0044 20 1234"}}, "guest.phone"),
        ({"starts_at": "2026-12-01T10:00:00"}, "starts_at"),  # no time zone
        ({"surprise": 1}, "surprise"),
        ({"metadata": "not an object"}, "metadata"),
    ],
)
async def test_validation_errors_name_the_field(
    server: RunningServer, change: dict[str, Any], field: str
) -> None:
    body = {"title": "t", "host": {"name": "Ana"}, "guest": {"name": "Ben"}, **change}
    async with server.client() as api:
        response = await api.post("/v1/rooms", json=body)
        assert response.status_code == 422
        error = response.json()
        assert error["code"] == "invalid_request" and field in error["message"]
        assert (await api.get("/v1/rooms")).json()["total"] == 0  # nothing was created


@pytest.mark.parametrize(
    ("times", "code"),
    [
        ({"expires_at": "past"}, "invalid_expiry"),
        ({"starts_at": "now", "expires_at": "too_far"}, "invalid_expiry"),
    ],
)
async def test_expiry_rules(server: RunningServer, times: dict[str, str], code: str) -> None:
    now = datetime.now(UTC)
    values = {
        "past": iso(now - timedelta(minutes=1)),
        "now": iso(now),
        "too_far": iso(now + timedelta(seconds=server.settings.room_max_ttl_s + 3600)),
    }
    body = {
        "title": "t",
        "host": {"name": "A"},
        "guest": {"name": "B"},
        **{k: values[v] for k, v in times.items()},
    }
    async with server.client() as api:
        response = await api.post("/v1/rooms", json=body)
    assert response.status_code == 422 and response.json()["code"] == code


async def test_metadata_size_is_capped(server: RunningServer) -> None:
    body = {"title": "t", "host": {"name": "A"}, "guest": {"name": "B"}, "metadata": {"blob": "x" * 20_000}}
    async with server.client() as api:
        response = await api.post("/v1/rooms", json=body)
    assert response.status_code == 422 and response.json()["code"] == "metadata_too_large"


async def test_unknown_room_is_404_json(server: RunningServer) -> None:
    async with server.client() as api:
        for method, path in [
            ("GET", "/v1/rooms/nope"),
            ("POST", "/v1/rooms/nope/end"),
            ("GET", "/v1/rooms/nope/events"),
        ]:
            response = await api.request(method, path)
            assert response.status_code == 404
            assert response.json() == {"code": "room_not_found", "message": "No room with id 'nope'."}
        response = await api.get("/v1/nothing-here")
        assert response.status_code == 404 and response.json()["code"] == "not_found"


@pytest.mark.parametrize("server_settings", [{"room_default_ttl_s": 1}])
async def test_expired_room_cannot_be_ended_or_joined(server: RunningServer) -> None:
    room = await server.create_room()
    async with server.client() as api:
        for _ in range(100):
            if (await api.get(f"/v1/rooms/{room['id']}")).json()["state"] == "expired":
                break
            await __import__("asyncio").sleep(0.05)  # waiting out the room's one-second life
        assert (await api.get(f"/v1/rooms/{room['id']}")).json()["state"] == "expired"
        response = await api.post(f"/v1/rooms/{room['id']}/end")
        assert response.status_code == 409 and response.json()["code"] == "room_expired"
        preview = await api.post(
            f"/s/{room['id']}/preview", json={"token": split_join_url(room["join_urls"]["host"])[1]}
        )
        assert preview.status_code in (401, 410)  # the token expires with the room


async def test_preview_for_the_pre_join_screen(server: RunningServer) -> None:
    room = await server.create_room()
    token = split_join_url(room["join_urls"]["guest"])[1]
    async with httpx.AsyncClient(base_url=server.url, trust_env=False) as browser:
        preview = await browser.post(f"/s/{room['id']}/preview", json={"token": token})
        assert preview.status_code == 200
        body = preview.json()
        assert body["you"] == {"role": "guest", "name": "Ben"} and body["peer"] == {
            "role": "host",
            "name": "Ana",
        }
        assert body["room"]["title"] == "Weekly mentoring" and body["room"]["state"] == "open"
        bad = await browser.post(f"/s/{room['id']}/preview", json={"token": "forged"})
        assert bad.status_code == 401 and bad.json()["code"] == "invalid_token"
        page = await browser.get(f"/s/{room['id']}")
        assert page.status_code == 200 and "text/html" in page.headers["content-type"]
        assert page.headers["referrer-policy"] == "no-referrer"
        assert "script-src 'self'" in page.headers["content-security-policy"]
    async with server.client() as api:
        await api.post(f"/v1/rooms/{room['id']}/end")
        gone = await api.post(f"/s/{room['id']}/preview", json={"token": token})
    assert gone.status_code == 410 and gone.json()["code"] == "room_ended"


async def test_openapi_documents_the_api(server: RunningServer) -> None:
    async with httpx.AsyncClient(base_url=server.url, trust_env=False) as client:
        schema = (await client.get("/openapi.json")).json()
        docs = await client.get("/docs")
    assert docs.status_code == 200
    assert {
        "/v1/rooms",
        "/v1/rooms/{room_id}",
        "/v1/rooms/{room_id}/end",
        "/v1/rooms/{room_id}/events",
    } <= set(schema["paths"])
    # The scopes are documented where an integrator reads them: the key's scheme and each room's 404.
    (scheme,) = schema["components"]["securitySchemes"].values()
    assert "sees only the rooms it created" in scheme["description"] and "--admin" in scheme["description"]
    for path, method in (("/v1/rooms/{room_id}", "get"), ("/v1/rooms/{room_id}/end", "post")):
        assert "another API key" in schema["paths"][path][method]["responses"]["404"]["description"]
