"""The page's connection test on a network that lets only TCP through (a strict corporate
firewall): without a TURN relay it cannot connect, and says why; with coturn reachable over TCP
it connects through the relay.

duet serves from the lab's ``b`` (on b's media address), Chromium runs in ``a``: everything between
them, the page's HTTP included, crosses the lab's impairer, which drops every UDP datagram. The page
loads (TCP), the test's ICE checks (UDP) are dropped, and a TURN server over UDP never answers; TURN
over TCP gets through, and coturn relays to the echo peer inside ``b``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import socket
import time
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

import httpx
from coturn import turnserver_argv
from netlab import Impairment, Lab
from netlab.duet_in_lab import DUET, duet_server
from playwright.async_api import Page, expect

if TYPE_CHECKING:
    from tests.e2e.conftest import LaunchParticipant

UI_TIMEOUT_MS = 15_000
TURN_PORT = 3478
VERDICT_TIMEOUT_MS = 25_000
"""Bounds a hang only: the test itself gives up connecting after its 8 s."""


async def udp_blocked_check_page(
    lab: Lab, api: httpx.AsyncClient, participant: LaunchParticipant
) -> tuple[dict[str, Any], Page]:
    """A new room, UDP blocked between a and b, and Ben's check page open in Chromium in ``a``."""
    server = f"http://{lab.media_ip('b')}:8000"
    body = {"title": "netlab", "host": {"name": "Ana"}, "guest": {"name": "Ben"}}
    room: dict[str, Any] = (await api.post("/v1/rooms", json=body)).raise_for_status().json()
    await lab.impair("both", Impairment(block_udp=True))
    ben = await participant(
        "guest",
        netns=lab.netns("a"),
        args=[
            f"--unsafely-treat-insecure-origin-as-secure={server}",  # getUserMedia needs it off localhost
            "--disable-features=WebRtcHideLocalIpsWithMdns",  # plain host candidates, as after a call
        ],
    )
    path, fragment = room["join_urls"]["guest"].removeprefix(server).split("#")
    await ben.page.goto(f"{server}{path}/check#{fragment}")
    await expect(ben.page.locator("#join")).to_be_enabled(timeout=UI_TIMEOUT_MS)
    return room, ben.page


async def test_a_network_that_blocks_udp_cannot_connect_and_the_page_says_why(
    lab: Lab, participant: LaunchParticipant
) -> None:
    turn = {
        "DUET_TURN_URLS": json.dumps([f"turn:{lab.media_ip('b')}:3478"]),
        "DUET_TURN_SECRET": "lab-secret",
    }
    async with duet_server(lab, turn, node="b") as api:
        room, page = await udp_blocked_check_page(lab, api, participant)

        started = time.monotonic()
        await page.click("#precall-run")
        await expect(page.locator("#precall-run")).to_have_text("Test again", timeout=VERDICT_TIMEOUT_MS)
        took_s = time.monotonic() - started
        shown = await page.locator("#precall-result").inner_text()
        await expect(page.locator("#precall-verdict")).to_have_text("Cannot connect")
        await expect(page.locator("#precall-result")).to_have_attribute("data-verdict", "cannot-connect")
        await expect(page.locator("#precall-reasons li")).to_have_text(
            [
                "the TURN relay is unreachable",
                "the connection checks to the server failed: UDP to the server is blocked",
            ]
        )
        await expect(page.locator("#precall-advice")).to_contain_text("Try another network")
        # duet check, from the same network: the same verdict, the same reasons.
        checked = await lab.run("a", [DUET, "check", room["join_urls"]["guest"], "--json"], timeout_s=60)
        report = json.loads(checked.stdout)
        assert (report["verdict"], report["connected"]) == ("cannot-connect", False), report
        assert report["reasons"] == [
            "the TURN relay is unreachable",
            "the connection checks to the server failed: UDP to the server is blocked",
        ]
        print(f"duet check gave its verdict in {report['duration_s']:.1f} s")
        stats = await lab.stats()
        assert sum(s.dropped_udp for s in stats.values()) > 0, stats  # the block did the work
        assert took_s < 15, (took_s, shown)  # gave up after its own 8 s, not ICE's 30 s timeout


@contextlib.asynccontextmanager
async def turnserver_in_b(lab: Lab, secret: str) -> AsyncIterator[None]:
    """Debian's coturn in ``b`` on b's media address (UDP and TCP), as duet's TURN REST peer."""
    ip = lab.media_ip("b")
    await lab.spawn("b", turnserver_argv(ip=ip, port=TURN_PORT, secret=secret, folder=lab.workdir))
    deadline = time.monotonic() + 10
    while True:  # until it accepts TCP, probed from inside b
        probe = lab.socket("b", kind=socket.SOCK_STREAM)
        probe.setblocking(False)
        try:
            await asyncio.wait_for(asyncio.get_running_loop().sock_connect(probe, (ip, TURN_PORT)), 1)
            break
        except (OSError, TimeoutError):
            assert time.monotonic() < deadline, "turnserver did not listen within 10 s"
            await asyncio.sleep(0.1)  # a retry interval, not synchronisation
        finally:
            probe.close()
    yield  # the lab terminates it


async def test_turn_over_tcp_carries_the_test_through_a_udp_block(
    lab: Lab, participant: LaunchParticipant
) -> None:
    secret = secrets.token_urlsafe(32)
    turn = {
        "DUET_TURN_URLS": json.dumps([f"turn:{lab.media_ip('b')}:{TURN_PORT}?transport=tcp"]),
        "DUET_TURN_SECRET": secret,
    }
    async with turnserver_in_b(lab, secret), duet_server(lab, turn, node="b") as api:
        room, page = await udp_blocked_check_page(lab, api, participant)
        await page.click("#precall-run")
        await expect(page.locator("#precall-run")).to_have_text("Test again", timeout=VERDICT_TIMEOUT_MS)
        shown = await page.locator("#precall-result").inner_text()
        # A clean link, through the relay: video.
        assert await page.locator("#precall-result").get_attribute("data-verdict") == "video", shown
        await expect(page.locator("#precall-rtt")).not_to_have_text("\u2013")  # measured: it connected

        checked = await lab.run("a", [DUET, "check", room["join_urls"]["guest"], "--json"], timeout_s=60)
        report = json.loads(checked.stdout)
        assert (report["verdict"], report["connected"]) == ("video", True), report
        assert report["video_frames_echoed"] > 0, report
        stats = await lab.stats()
        assert sum(s.dropped_udp for s in stats.values()) > 0, stats  # UDP was tried, and blocked
