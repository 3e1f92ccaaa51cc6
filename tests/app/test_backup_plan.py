"""The backup plan: phone numbers shared with consent, the bridge's dial-in and PIN, the phone prompt."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from conftest import RunningServer
from fallback_clients import FAST, Reporter, call
from report_sequences import Link, both
from wsclient import split_join_url

BRIDGE = "+14155550100"
pytestmark = pytest.mark.parametrize("server_settings", [{**FAST, "phone_dial_in": BRIDGE}])

ANA = {"name": "Ana", "phone": "+14155550123", "share_phone": True}
BEN = {"name": "Ben", "phone": "+447700900123"}  # Ben did not agree to share his number


async def _preview(server: RunningServer, room: dict[str, Any], role: str) -> dict[str, Any]:
    async with server.client() as api:
        token = split_join_url(room["join_urls"][role])[1]
        response = await api.post(f"/s/{room['id']}/preview", json={"token": token})
    assert response.status_code == 200
    result: dict[str, Any] = response.json()
    return result


async def test_rooms_get_a_pin_and_each_person_a_backup_plan(server: RunningServer) -> None:
    room = await server.create_room(host=ANA, guest=BEN)
    pin = room["dial_in"]["pin"]
    assert room["dial_in"]["number"] == BRIDGE and len(pin) == 8 and pin.isdigit()
    assert pin not in room["id"]
    other = await server.create_room()
    assert other["dial_in"]["pin"] != pin

    ben_sees = (await _preview(server, room, "guest"))["backup"]
    assert ben_sees == {
        "peer_phone": "+14155550123",  # Ana agreed
        "dial_in": BRIDGE,
        "pin": pin,
        "dial_in_link": f"tel:{BRIDGE},,{pin}%23",
    }
    ana_sees = (await _preview(server, room, "host"))["backup"]
    assert ana_sees["peer_phone"] is None  # Ben did not agree
    assert ana_sees["dial_in_link"] == f"tel:{BRIDGE},,{pin}%23"


async def test_phone_prompt_carries_the_backup_plan(server: RunningServer) -> None:
    async with call(server, host=ANA, guest=BEN) as (room, host, guest):
        reporter = Reporter(host, guest)
        try:
            reporter.links = both(Link(outage=True))
            ben_prompt, ana_prompt = await asyncio.gather(
                guest.wait_for("suggest", lambda f: f.mode == "phone"),
                host.wait_for("suggest", lambda f: f.mode == "phone"),
            )
        finally:
            await reporter.stop()
    assert (
        ben_prompt.reason == ana_prompt.reason == "The connection is too weak for a call. Continue by phone?"
    )
    assert ben_prompt.at_fault is None  # both directions failed alike: nobody is blamed
    assert ben_prompt.backup.peer_phone == "+14155550123"
    assert ben_prompt.backup.dial_in_link == f"tel:{BRIDGE},,{room['dial_in']['pin']}%23"
    assert ana_prompt.backup.peer_phone is None and ana_prompt.backup.pin == room["dial_in"]["pin"]
