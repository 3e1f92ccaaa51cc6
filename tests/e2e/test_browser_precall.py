"""The pre-call connection test in Chromium: on the pre-join screen, on the check page
(``/s/{room}/check``), from ``/check`` with a pasted link, and on a busy server."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING
from urllib.parse import urljoin, urlsplit

import pytest
from conftest import RunningServer
from playwright.async_api import Page, expect

if TYPE_CHECKING:
    from tests.e2e.conftest import LaunchParticipant, Participant

UI_TIMEOUT_MS = 10_000
VERDICT_TIMEOUT_MS = 20_000
"""Bounds a hang only: the test itself takes about 8 s (bench/precall.py measures it)."""


def local(server: RunningServer, join_url: str, suffix: str = "") -> str:
    parts = urlsplit(join_url)
    return urljoin(server.url, f"{parts.path}{suffix}#{parts.fragment}")


async def open_page(
    server: RunningServer, participant: LaunchParticipant, join_url: str, suffix: str = ""
) -> Participant:
    """A browser on the join link's pre-join screen (``suffix="/check"``: its check page), devices ready."""
    who = await participant(f"browser-{suffix.strip('/') or 'prejoin'}")
    await who.page.goto(local(server, join_url, suffix))
    await expect(who.page.locator("#join")).to_be_enabled(timeout=UI_TIMEOUT_MS)
    return who


async def run_test(page: Page) -> str:
    """Click "Test my connection", wait for the verdict; the whole result as the page shows it."""
    await expect(page.locator("#precall-run")).to_have_text("Test my connection")
    await page.click("#precall-run")
    await expect(page.locator("#precall-run")).to_be_disabled()
    await expect(page.locator("#precall-run")).to_have_text("Test again", timeout=VERDICT_TIMEOUT_MS)
    return await page.locator("#precall-result").inner_text()


async def test_the_prejoin_connection_test_says_video_will_work_then_the_call_joins(
    server: RunningServer, participant: LaunchParticipant
) -> None:
    room = await server.create_room()
    ana = await open_page(server, participant, room["join_urls"]["host"])
    page = ana.page

    shown = await run_test(page)
    result = page.locator("#precall-result")
    assert await page.locator("#precall-verdict").inner_text() == "Video will work", shown
    await expect(result).to_have_attribute("data-verdict", "video")
    await expect(page.locator("#precall-advice")).to_have_text("Your connection can carry a video call.")
    await expect(page.locator("#precall-rtt")).to_have_text(re.compile(r"^(< 1|\d+) ms$"))
    await expect(page.locator("#precall-loss")).to_have_text(re.compile(r"^\d+\.\d %$"))
    for figure in ("#precall-bitrate", "#precall-available"):
        await expect(page.locator(figure)).to_have_text(re.compile(r"^\d+(\.\d)? [kM]bit/s$"))
    await expect(page.locator("#precall-reasons li")).to_have_count(0)
    # The camera preview still runs (the test sent clones), and joining during a second test ends
    # that test and joins.
    assert await page.evaluate('() => document.getElementById("preview-video").srcObject.active')
    await page.click("#precall-run")
    await expect(page.locator("#precall-run")).to_be_disabled()
    await page.click("#join")
    await page.wait_for_function("() => window.duet.state !== 'prejoin'", timeout=UI_TIMEOUT_MS)
    ana.assert_clean()


async def test_the_check_page_tests_without_joining(
    server: RunningServer, participant: LaunchParticipant
) -> None:
    room = await server.create_room()
    ben = await open_page(server, participant, room["join_urls"]["guest"], "/check")
    page = ben.page
    await expect(page.locator("#prejoin-heading")).to_have_text("Check your set-up for your session with Ana")
    await expect(page.locator("#join")).to_have_text("Go to the session")

    shown = await run_test(page)
    assert await page.locator("#precall-verdict").inner_text() == "Video will work", shown
    async with server.client() as client:
        events = (await client.get(f"/v1/rooms/{room['id']}/events")).json()["items"]
    assert [e["type"] for e in events if e["type"] == "joined"] == []  # testing is not joining

    await page.click("#join")
    await page.wait_for_url(f"**/s/{room['id']}#t=*")
    await expect(page.locator("#join")).to_have_text("Join now", timeout=UI_TIMEOUT_MS)
    ben.assert_clean()


async def test_check_asks_for_a_join_link(server: RunningServer, participant: LaunchParticipant) -> None:
    room = await server.create_room()
    ben = await participant("guest")
    page = ben.page
    await page.goto(urljoin(server.url, "/check"))
    await expect(page.locator("#paste-link")).to_be_visible()

    await page.fill("#paste-link", "https://elsewhere.example/s/abc#t=x")
    await page.click("#paste-form button[type=submit]")
    await expect(page.locator("#paste-error")).to_have_text(
        "That link is for elsewhere.example. Open elsewhere.example/check to test with it."
    )
    await page.fill("#paste-link", local(server, room["join_urls"]["guest"]).split("#")[0])
    await page.click("#paste-form button[type=submit]")
    await expect(page.locator("#paste-error")).to_contain_text("not a complete join link")

    await page.fill("#paste-link", local(server, room["join_urls"]["guest"]))
    await page.click("#paste-form button[type=submit]")
    await page.wait_for_url(f"**/s/{room['id']}/check#t=*")
    await expect(page.locator("#prejoin-heading")).to_have_text("Check your set-up for your session with Ana")
    ben.assert_clean()


@pytest.mark.parametrize("server_settings", [{"precall_max_concurrent": 0}])
async def test_a_busy_server_says_so(
    server: RunningServer, participant: LaunchParticipant, server_settings: dict[str, object]
) -> None:
    room = await server.create_room()
    page = (await open_page(server, participant, room["join_urls"]["guest"], "/check")).page
    await run_test(page)
    await expect(page.locator("#precall-verdict")).to_have_text("Cannot connect")
    await expect(page.locator("#precall-reasons li")).to_contain_text(["HTTP 429"])
