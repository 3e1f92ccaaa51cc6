"""The console provider: it places no call, logs what it would do, and plays the phone network
through duet's own signed webhooks, so development and tests get real phone legs."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from conftest import RunningServer
from fallback_clients import call
from wsclient import joined, split_join_url

BRIDGE, ANA_PHONE, BEN_PHONE = "+14155550100", "+14155550123", "+447700900123"
PEOPLE = {"host": {"name": "Ana", "phone": ANA_PHONE}, "guest": {"name": "Ben", "phone": BEN_PHONE}}
pytestmark = pytest.mark.parametrize(
    "server_settings", [{"phone_provider": "console", "phone_dial_in": BRIDGE}]
)


async def console_calls(server: RunningServer) -> list[dict[str, Any]]:
    async with server.client() as api:
        response = await api.get("/phone/console/calls")
    assert response.status_code == 200
    calls: list[dict[str, Any]] = response.json()
    return calls


async def phone_events(server: RunningServer, room_id: str) -> list[tuple[str, str | None, dict[str, Any]]]:
    async with server.client() as api:
        items = (await api.get(f"/v1/rooms/{room_id}/events")).json()["items"]
    return [(e["type"], e["role"], e["data"]) for e in items if e["type"].startswith("phone.")]


async def test_dial_in_and_hang_up(server: RunningServer) -> None:
    room = await server.create_room(**PEOPLE)
    async with server.client() as api:
        dialled = (
            await api.post(
                "/phone/console/dial-in", json={"from": BEN_PHONE, "keys": [room["dial_in"]["pin"]]}
            )
        ).json()
        assert dialled["state"] == "in-conference" and dialled["conference"].startswith("duet-")
        assert (dialled["from"], dialled["to"]) == ("+**********23", "+*********00")
        assert dialled["heard"] == [
            "Welcome to duet.",
            "Please enter your 8 digit session PIN.",
            "Joining you to your session with Ana.",
        ]
        assert (await api.get(f"/v1/rooms/{room['id']}")).json()["state"] == "live"  # on the phone only
        ana, _ = await joined(server.ws_url(room["id"]), room["join_urls"]["host"])
        told = await ana.recv_type("phone")  # right after welcome: Ben is on the phone
        assert (told.role, told.name, told.state, told.on_phone) == ("guest", "Ben", "joined", ["guest"])
        await ana.close()
        hung_up = (await api.post(f"/phone/console/calls/{dialled['sid']}/hang-up")).json()
        assert hung_up["state"] == "completed"
        assert (await api.get(f"/v1/rooms/{room['id']}")).json()["state"] == "open"
        assert (await api.post("/phone/console/calls/CA0/hang-up")).status_code == 404
    assert await phone_events(server, room["id"]) == [
        ("phone.joined", "guest", {"via": "dial-in", "unknown_number": False}),
        ("phone.left", "guest", {"via": "dial-in"}),
    ]


async def test_a_stranger_with_three_wrong_pins(server: RunningServer) -> None:
    await server.create_room(**PEOPLE)
    async with server.client() as api:
        response = await api.post(
            "/phone/console/dial-in", json={"from": "+33612345678", "keys": ["1", "22", ""]}
        )
    dialled = response.json()
    assert dialled["state"] == "completed" and dialled["conference"] is None
    assert dialled["heard"][-1].endswith("call again. Goodbye.")
    assert dialled["heard"].count("Sorry, that PIN is not right. Please enter your session PIN again.") == 2


async def test_call_me_for_both_joins_one_conference(
    server: RunningServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="duet.phone")
    async with call(server, **PEOPLE) as (room, ana, ben):
        async with server.client() as api:
            for role in ("host", "guest"):
                token = split_join_url(room["join_urls"][role])[1]
                response = await api.post(f"/s/{room['id']}/call-me", json={"token": token})
                assert response.status_code == 202, response.text
        calls = await console_calls(server)
        assert [(c["direction"], c["to"], c["state"]) for c in calls] == [
            ("outbound-api", "+*********23", "in-conference"),
            ("outbound-api", "+**********23", "in-conference"),
        ]
        assert calls[0]["conference"] == calls[1]["conference"]
        assert calls[0]["heard"] == [
            "Hello Ana. This is duet, calling about your session. Press 1 to join.",
            "Joining you to your session with Ben.",
        ]
        for person in (ana, ben):
            both = await person.wait_for("phone", lambda f: f.state == "joined" and len(f.on_phone) == 2)
            assert both.on_phone == ["host", "guest"]
    logged = caplog.text
    assert "console phone: calling +*********23 from +*********00" in logged
    assert ANA_PHONE not in logged and BEN_PHONE not in logged


async def test_webhooks_from_outside_are_refused(server: RunningServer) -> None:
    async with server.client() as api:
        response = await api.post("/phone/voice", data={"CallSid": "CA1", "From": ANA_PHONE})
    assert (response.status_code, response.json()["code"]) == (403, "invalid_signature")
