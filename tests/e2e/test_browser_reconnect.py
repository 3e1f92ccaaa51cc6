"""The page's reconnect path in Chromium: the server is SIGKILLed and restarted mid-call; both pages
say "Reconnecting…", then "Connected" again on the same peer connection, and the remote video never
stops playing."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urljoin, urlsplit

import pytest
from conftest import RunningServer
from duet_process import DuetProcess
from page_checks import CALL_TIMEOUT_MS, REMOTE_VIDEO_ADVANCED, REMOTE_VIDEO_RENDERS, UI_TIMEOUT_MS
from playwright.async_api import Page, expect

from media.backoff import Backoff
from media.participant import HeadlessParticipant

if TYPE_CHECKING:
    from tests.e2e.conftest import LaunchParticipant


async def video_time(page: Page) -> float:
    return float(await page.evaluate('() => document.getElementById("remote-video").currentTime'))


@pytest.mark.asyncio
async def test_server_restart_keeps_the_call_in_both_pages(
    tmp_path: Path, participant: LaunchParticipant
) -> None:
    server = DuetProcess(tmp_path / "data")
    await server.create_api_key()
    await server.start()
    try:
        room = await server.create_room()
        pages: list[Page] = []
        for role in ("host", "guest"):
            who = await participant(role)
            parts = urlsplit(room["join_urls"][role])
            await who.page.goto(urljoin(server.url, f"{parts.path}#{parts.fragment}"))
            await expect(who.page.locator("#join")).to_be_enabled(timeout=UI_TIMEOUT_MS)
            await who.page.click("#join")
            pages.append(who.page)
        for page in pages:
            await page.wait_for_function(REMOTE_VIDEO_RENDERS, polling=100, timeout=CALL_TIMEOUT_MS)
            await expect(page.locator("#status")).to_have_text("Connected", timeout=CALL_TIMEOUT_MS)
            await page.evaluate("() => { window.e2ePc = window.duet.pc; }")

        await server.kill()
        for page in pages:
            await expect(page.locator("#status")).to_have_text("Reconnecting…", timeout=UI_TIMEOUT_MS)
        during = [await video_time(page) for page in pages]
        await asyncio.sleep(1.0)  # the server stays down for a while (a schedule)
        for page, start in zip(pages, during, strict=True):  # media goes peer to peer: it plays on
            await page.wait_for_function(REMOTE_VIDEO_ADVANCED, arg=start, polling=100, timeout=UI_TIMEOUT_MS)
        await server.start()
        for page in pages:
            await expect(page.locator("#status")).to_have_text("Connected", timeout=UI_TIMEOUT_MS)
            assert await page.evaluate("() => window.duet.pc === window.e2ePc")  # the same connection
            start = await video_time(page)
            await page.wait_for_function(REMOTE_VIDEO_ADVANCED, arg=start, polling=100, timeout=UI_TIMEOUT_MS)
    finally:
        await server.stop()


@pytest.mark.asyncio
async def test_the_page_shows_the_other_reconnecting_then_back_on_the_same_connection(
    server: RunningServer, participant: LaunchParticipant
) -> None:
    room = await server.create_room()
    host = await participant("host")
    parts = urlsplit(room["join_urls"]["host"])
    page = host.page
    await page.goto(urljoin(server.url, f"{parts.path}#{parts.fragment}"))
    await expect(page.locator("#join")).to_be_enabled(timeout=UI_TIMEOUT_MS)
    await page.click("#join")
    # A headless guest that stays away 1-2 s when its socket drops: long enough to be seen.
    guest = HeadlessParticipant(room["join_urls"]["guest"], backoff=Backoff(2.0, 2.0))
    try:
        await guest.start()
        await guest.wait_connected(CALL_TIMEOUT_MS / 1000)
        await page.wait_for_function(REMOTE_VIDEO_RENDERS, polling=100, timeout=CALL_TIMEOUT_MS)
        await expect(page.locator("#status")).to_have_text("Connected", timeout=CALL_TIMEOUT_MS)
        await page.evaluate("() => { window.e2ePc = window.duet.pc; }")

        guest.drop_signaling()
        await expect(page.locator("#status")).to_have_text("Ben is reconnecting…", timeout=UI_TIMEOUT_MS)
        await expect(page.locator("#status")).to_have_text("Connected", timeout=UI_TIMEOUT_MS)
        assert await page.evaluate("() => window.duet.pc === window.e2ePc")
        start = await video_time(page)
        await page.wait_for_function(REMOTE_VIDEO_ADVANCED, arg=start, polling=100, timeout=UI_TIMEOUT_MS)
        report = guest.report()
        assert report.signaling_reconnects == 1 and report.peer_connections == 1
        host.assert_clean()
    finally:
        await guest.close()
