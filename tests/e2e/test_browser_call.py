"""Two real browsers join one room through the page in ``web/`` and see and hear each other.

Chromium's fake camera and microphone stand in for people. Every wait is
bounded and synchronised on what the page shows or plays, never on a sleep.
The page's Content-Security-Policy forbids ``eval``, so every polled predicate
is a function (``"() => ..."``), never a bare expression string.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin, urlsplit

import icalendar
import pytest
from page_checks import CALL_TIMEOUT_MS, REMOTE_VIDEO_ADVANCED, REMOTE_VIDEO_RENDERS, UI_TIMEOUT_MS
from playwright.async_api import Page, expect
from webhook_receiver import Receiver, running_receiver

if TYPE_CHECKING:
    from tests.e2e.conftest import LaunchParticipant, Participant

# wait_for_function treats a returned Promise as truthy, so this predicate stays
# synchronous: each poll starts a getStats() and reads what the previous one found.
REMOTE_AUDIO_ARRIVES = """() => {
  const pc = window.duet.pc;
  if (!pc) return false;
  pc.getStats().then((stats) => {
    for (const report of stats.values()) {
      if (report.type === "inbound-rtp" && report.kind === "audio") {
        window.e2eAudioPackets = report.packetsReceived;
      }
    }
  });
  return (window.e2eAudioPackets ?? 0) > 0;
}"""


def initials(name: str) -> str:
    """What the page shows for a person without video: "Ana Lima" -> "AL" (web/js/texts.js)."""
    words = name.split()
    return (words[0][0] + (words[-1][0] if len(words) > 1 else "")).upper()


def join_url(server: Any, url: str) -> str:
    """The join link on the server under test (the API may build links on a public base URL)."""
    parts = urlsplit(url)
    return urljoin(server.url, f"{parts.path}#{parts.fragment}")


async def end_room(server: Any, room_id: str) -> None:
    """End a room through the API (``POST /v1/rooms/{id}/end``)."""
    async with server.client() as api:
        response = await api.post(f"/v1/rooms/{room_id}/end")
    assert response.status_code == 200, response.text


async def open_prejoin(who: Participant, url: str) -> Page:
    page = who.page
    await page.goto(url)
    await expect(page.locator("#view-prejoin")).to_be_visible(timeout=UI_TIMEOUT_MS)
    await expect(page.locator("#join")).to_be_enabled(timeout=UI_TIMEOUT_MS)
    return page


async def assert_remote_media_plays(page: Page) -> None:
    """The other person's video renders frames that keep coming, and their audio arrives."""
    await page.wait_for_function(REMOTE_VIDEO_RENDERS, polling=100, timeout=CALL_TIMEOUT_MS)
    start = await page.evaluate('() => document.getElementById("remote-video").currentTime')
    await page.wait_for_function(REMOTE_VIDEO_ADVANCED, arg=start, polling=100, timeout=UI_TIMEOUT_MS)
    await page.wait_for_function(REMOTE_AUDIO_ARRIVES, polling=250, timeout=UI_TIMEOUT_MS)


@pytest.mark.asyncio
async def test_two_people_see_and_hear_each_other_then_one_hangs_up(
    server: Any, participant: LaunchParticipant
) -> None:
    room = await server.create_room()
    host_name, guest_name = room["host"]["name"], room["guest"]["name"]
    host = await participant("host")
    guest = await participant("guest", phone=True)

    host_page = await open_prejoin(host, join_url(server, room["join_urls"]["host"]))
    guest_page = await open_prejoin(guest, join_url(server, room["join_urls"]["guest"]))
    await expect(host_page.locator("#prejoin-heading")).to_have_text(f"Your session with {guest_name}")
    await expect(guest_page.locator("#prejoin-heading")).to_have_text(f"Your session with {host_name}")

    await host_page.click("#join")
    await expect(host_page.locator("#status")).to_have_text(
        f"Waiting for {guest_name} to join…", timeout=UI_TIMEOUT_MS
    )
    await guest_page.click("#join")

    for page in (host_page, guest_page):
        await assert_remote_media_plays(page)
        await expect(page.locator("#status")).to_have_text("Connected", timeout=CALL_TIMEOUT_MS)
        assert await page.evaluate("() => [window.duet.state, window.duet.pc.connectionState]") == [
            "connected",
            "connected",
        ]

    await guest_page.click("#hangup")
    await expect(host_page.locator("#status")).to_have_text(
        f"{guest_name} left the session.", timeout=UI_TIMEOUT_MS
    )
    assert await host_page.evaluate("() => window.duet.pc") is None
    await expect(guest_page.locator("#view-left")).to_be_visible(timeout=UI_TIMEOUT_MS)
    await expect(guest_page.locator("#rejoin")).to_be_visible()
    assert await guest_page.evaluate("() => window.duet.state") == "left"
    host.assert_clean()
    guest.assert_clean()


@pytest.mark.asyncio
async def test_a_camera_turned_off_shows_initials_to_the_other_person(
    server: Any, participant: LaunchParticipant
) -> None:
    room = await server.create_room()
    host = await participant("host")
    guest = await participant("guest")
    host_page = await open_prejoin(host, join_url(server, room["join_urls"]["host"]))
    guest_page = await open_prejoin(guest, join_url(server, room["join_urls"]["guest"]))
    await host_page.click("#join")
    await guest_page.click("#join")
    await assert_remote_media_plays(guest_page)
    placeholder = guest_page.locator("#remote-placeholder")
    await expect(placeholder).to_be_hidden(timeout=UI_TIMEOUT_MS)

    await host_page.click("#camera")
    await expect(host_page.locator("#camera")).to_have_attribute("aria-pressed", "true")
    await expect(placeholder).to_be_visible(timeout=UI_TIMEOUT_MS)
    await expect(guest_page.locator("#remote-initials")).to_have_text(initials(room["host"]["name"]))

    await host_page.click("#camera")
    await expect(placeholder).to_be_hidden(timeout=UI_TIMEOUT_MS)
    await expect(guest_page.locator("#status")).to_have_text("Connected")
    host.assert_clean()
    guest.assert_clean()


@pytest.mark.asyncio
@pytest.mark.parametrize("server_settings", [{"webhook_allow_hosts": ["127.0.0.1"]}])
async def test_ending_the_room_during_a_call_tells_both_people_and_asks_how_it_went(
    server: Any, participant: LaunchParticipant
) -> None:
    async with running_receiver() as (receiver, _):
        async with server.client() as api:
            made = await api.post(
                "/v1/webhooks", json={"url": receiver.url, "events": ["feedback.submitted"]}
            )
        receiver.secrets.append(made.json()["secret"])
        await _end_and_rate(server, participant, receiver)


async def _end_and_rate(server: Any, participant: LaunchParticipant, receiver: Receiver) -> None:
    room = await server.create_room()
    host = await participant("host")
    guest = await participant("guest", phone=True)
    pages = [
        await open_prejoin(host, join_url(server, room["join_urls"]["host"])),
        await open_prejoin(guest, join_url(server, room["join_urls"]["guest"])),
    ]
    # Before joining, "Add to calendar" saves the guest's own invite.
    async with pages[1].expect_download() as saving:
        await pages[1].click("#add-to-calendar")
    saved = await (await saving.value).path()
    [invite] = icalendar.Calendar.from_ical(saved.read_bytes()).walk("VEVENT")
    assert str(invite["location"]) == room["join_urls"]["guest"]
    for page in pages:
        await page.click("#join")
    for page in pages:
        await expect(page.locator("#status")).to_have_text("Connected", timeout=CALL_TIMEOUT_MS)

    await end_room(server, room["id"])
    for page in pages:
        await expect(page.locator("#view-left")).to_be_visible(timeout=UI_TIMEOUT_MS)
        await expect(page.locator("#left-title")).to_have_text("This session has ended")
        await expect(page.locator("#left-text")).to_have_text("The session has ended.")
        await expect(page.locator("#rejoin")).to_be_hidden()
        assert await page.evaluate("() => [window.duet.state, window.duet.pc]") == ["ended", None]
    # The guest says how it went: two stars, the video froze, a comment.
    form = pages[1].locator("#feedback")
    await expect(form.locator(".feedback-what")).to_be_hidden()
    await form.locator('.feedback-star[data-rating="2"]').click()
    await form.locator('.chip[data-chip="video_froze"]').click()
    await form.locator("textarea").fill("Froze twice, then fine on audio.")
    await form.locator(".feedback-send").click()
    await expect(form.locator(".feedback-done")).to_have_text(re.compile("Thank you"), timeout=UI_TIMEOUT_MS)
    await receiver.wait_for(lambda r: len(r.accepted()) == 1)
    [told] = receiver.accepted()
    assert told.verified_with and told.type == "feedback.submitted"
    data = told.body["data"]
    assert (data["room_id"], data["role"], data["name"]) == (room["id"], "guest", room["guest"]["name"])
    assert (data["rating"], data["chips"], data["comment"]) == (
        2,
        ["video_froze"],
        "Froze twice, then fine on audio.",
    )
    host.assert_clean()
    guest.assert_clean()


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("link", "title"),
    [
        pytest.param("bad-token", "This join link is not valid", id="bad-token"),
        # A token is bound to its room: another room's address refuses it (401).
        pytest.param("other-room", "This join link is not valid", id="other-room"),
        pytest.param("no-token", "This link is incomplete", id="no-token"),
        pytest.param("ended", "This session has ended", id="ended-room"),
    ],
)
async def test_a_link_that_cannot_work_shows_a_message_page(
    server: Any, participant: LaunchParticipant, link: str, title: str
) -> None:
    room = await server.create_room()
    good = urlsplit(join_url(server, room["join_urls"]["guest"]))
    url = {
        "bad-token": f"{server.url}{good.path}#t=not-a-valid-token",
        "other-room": f"{server.url}/s/no-such-room-0000#{good.fragment}",
        "no-token": f"{server.url}{good.path}",
        "ended": good.geturl(),
    }[link]
    if link == "ended":
        await end_room(server, room["id"])
    who = await participant("guest", phone=True)
    await who.page.goto(url)
    await expect(who.page.locator("#view-message")).to_be_visible(timeout=UI_TIMEOUT_MS)
    await expect(who.page.locator("#message-title")).to_have_text(title)
    await expect(who.page.locator("#view-prejoin")).to_be_hidden()
    assert await who.page.evaluate("() => window.duet.state") == "error"
    who.assert_clean()
