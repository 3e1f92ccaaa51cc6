"""The page's connection test on a network that lets only TCP through: it cannot connect, and it
says why.

duet serves from the lab's ``b`` (on b's media address), Chromium runs in ``a``: everything between
them, the page's HTTP included, crosses the lab's impairer, which drops every UDP datagram. The
page loads (TCP), the test's ICE checks (UDP) are dropped, and the TURN server duet hands out (also
over UDP) never answers.
"""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING

from netlab import Impairment, Lab
from netlab.duet_in_lab import DUET, duet_server
from playwright.async_api import expect

if TYPE_CHECKING:
    from tests.e2e.conftest import LaunchParticipant

UI_TIMEOUT_MS = 15_000
VERDICT_TIMEOUT_MS = 25_000
"""Bounds a hang only: the test itself gives up connecting after its 8 s."""


async def test_a_network_that_blocks_udp_cannot_connect_and_the_page_says_why(
    lab: Lab, participant: LaunchParticipant
) -> None:
    server = f"http://{lab.media_ip('b')}:8000"
    turn = {
        "DUET_TURN_URLS": json.dumps([f"turn:{lab.media_ip('b')}:3478"]),
        "DUET_TURN_SECRET": "lab-secret",
    }
    async with duet_server(lab, turn, node="b") as api:
        body = {"title": "netlab", "host": {"name": "Ana"}, "guest": {"name": "Ben"}}
        room = (await api.post("/v1/rooms", json=body)).raise_for_status().json()
        await lab.impair("both", Impairment(block_udp=True))
        ben = await participant(
            "guest",
            netns=lab.netns("a"),
            args=[
                f"--unsafely-treat-insecure-origin-as-secure={server}",  # getUserMedia needs it off localhost
                "--disable-features=WebRtcHideLocalIpsWithMdns",  # plain host candidates, as after a call
            ],
        )
        page = ben.page
        path, fragment = room["join_urls"]["guest"].removeprefix(server).split("#")
        await page.goto(f"{server}{path}/check#{fragment}")
        await expect(page.locator("#join")).to_be_enabled(timeout=UI_TIMEOUT_MS)

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
