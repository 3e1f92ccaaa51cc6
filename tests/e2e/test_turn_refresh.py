"""Fresh TURN credentials for long calls: every ``DUET_TURN_REFRESH_S`` a connected participant gets
an ``ice-servers`` frame, and the page and the headless participant take it for their next ICE
restart (a relayed call outlives its credentials, but a restart must allocate anew: see
test_turn_relay.py). The refresh is scaled down to half a second here; no TURN server is needed
to check who gets which credentials."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin, urlsplit

import pytest
from conftest import RunningServer
from playwright.async_api import expect
from wsclient import WsClient, split_join_url

from media.participant import HeadlessParticipant
from signaling.messages import IceServersUpdate, Join, Welcome

if TYPE_CHECKING:
    from tests.e2e.conftest import LaunchParticipant

TURN = {
    "turn_urls": ["turn:127.0.0.1:9?transport=udp"],  # discard port: nothing answers, nothing leaves
    "turn_secret": "lab-secret",
    "turn_ttl_s": 60,
    "turn_refresh_s": 0.5,
    "sweep_interval_s": 0.1,
}
CALL_TIMEOUT_MS = 30_000


def expiry(username: str) -> int:
    return int(username.split(":")[0])


@pytest.mark.parametrize("server_settings", [TURN])
async def test_a_connected_socket_gets_fresh_credentials_before_the_old_expire(
    server: RunningServer, server_settings: dict[str, Any]
) -> None:
    room = await server.create_room()
    room_id, token = split_join_url(room["join_urls"]["host"])
    ws = await WsClient.open(server.ws_url(room_id))
    try:
        await ws.send(Join(room=room_id, token=token))
        welcome: Welcome = await ws.recv_type("welcome")
        [first] = welcome.ice_servers
        updates: list[IceServersUpdate] = [await ws.recv_type("ice-servers", timeout=5) for _ in range(2)]
    finally:
        await ws.close()
    for update in updates:
        [fresh] = update.ice_servers
        assert fresh.urls == first.urls
        assert fresh.username is not None and first.username is not None
        assert fresh.username.split(":")[1] == f"{room_id}.host"  # still this room and role
        assert expiry(fresh.username) >= expiry(first.username)
        assert fresh.credential
    later = updates[1].ice_servers[0]
    assert later.username is not None and expiry(later.username) > expiry(first.username)  # a second on


@pytest.mark.parametrize("server_settings", [TURN])
async def test_the_page_and_the_headless_participant_take_the_fresh_credentials(
    server: RunningServer, server_settings: dict[str, Any], participant: LaunchParticipant
) -> None:
    room = await server.create_room()
    ana = await participant("host")
    parts = urlsplit(room["join_urls"]["host"])
    await ana.page.goto(urljoin(server.url, f"{parts.path}#{parts.fragment}"))
    await expect(ana.page.locator("#join")).to_be_enabled(timeout=10_000)
    await ana.page.click("#join")
    ben = HeadlessParticipant(room["join_urls"]["guest"])
    try:
        await ben.start()
        await ben.wait_connected(CALL_TIMEOUT_MS / 1000)
        welcome = ben.welcome
        assert welcome is not None
        joined_with = welcome.ice_servers[0].username
        assert joined_with is not None
        # The page's peer connection now gathers with newer credentials than those it joined with.
        page_username = "() => window.duet.pc.getConfiguration().iceServers[0].username"
        first = await ana.page.evaluate(page_username)
        await ana.page.wait_for_function(
            f"(first) => ({page_username})() !== first", arg=first, polling=100, timeout=10_000
        )
        assert expiry(await ana.page.evaluate(page_username)) >= expiry(first)
        # The headless side keeps the newest it was sent, for its next peer connection.
        update = await ben.wait_frame("ice-servers", 10, lambda m: m.ice_servers[0].username != joined_with)
        current = ben.welcome
        assert current is not None and current.ice_servers == update.ice_servers
        assert ben.report().peer_connections == 1  # the running call was left alone
        ana.assert_clean()
    finally:
        await ben.close()
