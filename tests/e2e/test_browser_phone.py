"""The phone bridge in real browsers: "Call me", who is on the phone, and the page going quiet.

The server runs the console phone provider, which places no call but plays the phone network through
duet's own signed webhooks: a "Call me" rings, is answered, the person presses 1 and joins the
room's phone conference, and the pages get the server's real ``phone`` frames. Hanging a leg up goes
through the console's development endpoint. Every wait is bounded and synchronised on what the page
shows or on a frame; predicates are functions (the page's CSP forbids ``eval``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pytest
from playwright.async_api import Page, Request, Route, WebSocket, WebSocketRoute, expect

from tests.e2e.test_browser_call import CALL_TIMEOUT_MS, UI_TIMEOUT_MS, join_url, open_prejoin
from tests.e2e.test_browser_fallback import ANA, BRIDGE, MODE_IS, join_both, snapshot

if TYPE_CHECKING:
    from tests.e2e.conftest import LaunchParticipant, Participant

CONSOLE = {"phone_provider": "console", "phone_dial_in": BRIDGE}
TYPED = {**CONSOLE, "phone_call_me_typed": True, "phone_call_countries": ["US", "GB"]}
"""A deployment that lets people type a number for "call me" (off by default)."""
BEN = {"name": "Ben"}  # no number on file: where typing is allowed, the page asks Ben for one
BEN_TYPED = "+442079460999"

QUIET = """() => {
  const audio = window.duet.pc?.getSenders().find((s) => s.track?.kind === "audio");
  return Boolean(audio?.track) && !audio.track.enabled && document.getElementById("remote-video").muted;
}"""
"""On the phone: the WebRTC microphone sends silence and the other person's sound is muted."""

LOUD = """() => {
  const audio = window.duet.pc?.getSenders().find((s) => s.track?.kind === "audio");
  return Boolean(audio?.track) && audio.track.enabled && !document.getElementById("remote-video").muted;
}"""

RECORD_TEXTS = """(ids) => {
  window.e2eSeen = {};
  for (const id of ids) {
    const element = document.getElementById(id);
    const seen = (window.e2eSeen[id] = []);
    const note = () => { if (element.textContent) seen.push(element.textContent); };
    new MutationObserver(note).observe(element, {childList: true, characterData: true, subtree: true});
  }
}"""
"""Keep every text ``#phone-status`` and ``#call-me-message`` show, however briefly."""

SEEN = "(id) => window.e2eSeen[id]"

PHONE_FAILED = {"type": "phone", "role": "guest", "name": "Ben", "state": "failed", "onPhone": ["host"]}


def record_call_me(page: Page) -> list[Request]:
    requests: list[Request] = []
    page.on("request", lambda request: requests.append(request) if "/call-me" in request.url else None)
    return requests


def record_sockets(page: Page) -> list[WebSocket]:
    sockets: list[WebSocket] = []
    page.on("websocket", lambda socket: sockets.append(socket))
    return sockets


async def console_calls(server: Any) -> list[dict[str, Any]]:
    async with server.client() as api:
        response = await api.get("/phone/console/calls")
    assert response.status_code == 200, response.text
    calls: list[dict[str, Any]] = response.json()
    return calls


async def phone_status(page: Page, text: str) -> None:
    await expect(page.locator("#phone-status")).to_have_text(text, timeout=UI_TIMEOUT_MS)


async def pongs_keep_coming(socket: WebSocket, count: int = 2) -> None:
    """The signaling socket is open and the page's pings keep being answered."""

    def is_pong(payload: str | bytes) -> bool:
        return bool(json.loads(payload).get("type") == "pong")

    for _ in range(count):
        await socket.wait_for_event("framereceived", predicate=is_pong, timeout=UI_TIMEOUT_MS)
    assert not socket.is_closed()


@pytest.mark.asyncio
@pytest.mark.parametrize("server_settings", [{**TYPED, "ping_interval_s": 1.0, "phone_call_me_per_room": 2}])
async def test_call_me_puts_both_people_on_the_phone_and_their_pages_go_quiet(
    server: Any, participant: LaunchParticipant
) -> None:
    room = await server.create_room(host=ANA, guest=BEN)
    ana = await participant("host")
    ben = await participant("guest", phone=True)
    ana_requests = record_call_me(ana.page)
    ana_sockets, ben_sockets = record_sockets(ana.page), record_sockets(ben.page)
    ana_page = await open_prejoin(ana, join_url(server, room["join_urls"]["host"]))
    ben_page = await open_prejoin(ben, join_url(server, room["join_urls"]["guest"]))
    await join_both(ana_page, ben_page)
    for page in (ana_page, ben_page):
        await page.evaluate(RECORD_TEXTS, ["phone-status", "call-me-message"])
        await page.wait_for_function(LOUD, timeout=UI_TIMEOUT_MS)
        await expect(page.locator("#phone-status")).to_be_hidden()  # nobody on the phone: nothing said

    # Ana: the phone button opens "Continue by phone" with her number on file, masked.
    await ana_page.click("#phone-button")
    sheet = ana_page.locator("#phone-sheet")
    await expect(sheet).to_be_visible()
    await expect(ana_page.locator("#call-me")).to_have_text("Call me at …23")
    await expect(ana_page.locator("#call-me-form")).to_be_hidden()
    await expect(sheet.locator("#phone-sheet-plan")).to_contain_text("Or dial in at +1 415 555 0100 (PIN ")
    await snapshot(ana_page, "phone-sheet-desktop")
    await ana_page.click("#call-me")

    await phone_status(ana_page, "You joined by phone")
    await expect(ana_page.locator("#phone-detail")).to_have_text(
        "This page's microphone and sound are off while you talk by phone."
    )
    await ana_page.wait_for_function(QUIET, timeout=UI_TIMEOUT_MS)
    await expect(ana_page.locator("#mute")).to_have_attribute("aria-pressed", "true")
    await expect(sheet).to_be_hidden()
    assert "Calling your phone…" in await ana_page.evaluate(SEEN, "phone-status")
    assert "Calling …23" in await ana_page.evaluate(SEEN, "call-me-message")
    [request] = ana_requests
    assert request.url == f"{server.url}/s/{room['id']}/call-me"  # the token is in the body, never the URL
    assert set(request.post_data_json or {}) == {"token"}

    await phone_status(ben_page, "Ana joined by phone")
    await expect(ben_page.locator("#phone-detail")).to_have_text("Join by phone to talk with Ana.")
    assert "Calling Ana's phone…" in await ben_page.evaluate(SEEN, "phone-status")
    assert await ben_page.evaluate(LOUD)  # Ben is not on the phone: his page still talks and plays
    await snapshot(ben_page, "peer-on-phone-phone")
    await snapshot(ana_page, "on-phone-desktop")

    # Ben: "Join by phone"; duet has no number for him, so he types one (a wrong one first).
    await ben_page.locator("#phone-actions").get_by_role("button", name="Join by phone").click()
    await expect(ben_page.locator("#phone-sheet")).to_be_visible()
    await expect(ben_page.locator("#call-me")).to_be_hidden()
    number = ben_page.locator("#call-me-number")
    await expect(number).to_be_focused()
    await number.fill("20 7946 0999")
    await ben_page.click("#call-me-submit")
    await expect(ben_page.locator("#call-me-message")).to_have_text(
        "Enter the number with its country code: a + and the digits, like +1 415 555 0123."
    )
    await expect(number).to_have_attribute("aria-invalid", "true")
    await snapshot(ben_page, "call-me-number-phone")
    await number.fill("+44 20 7946 0999")
    await ben_page.click("#call-me-submit")

    for page, sockets in ((ana_page, ana_sockets), (ben_page, ben_sockets)):
        await phone_status(page, "You're both on the phone")
        await page.wait_for_function(QUIET, timeout=UI_TIMEOUT_MS)
        assert await page.evaluate("() => window.duet.onPhone") == ["host", "guest"]
        # Nobody hangs up: the socket and its pings stay, and so does the peer connection.
        await pongs_keep_coming(sockets[-1])
        await expect(page.locator("#status")).to_have_text("Connected")
        assert await page.evaluate("() => [window.duet.state, window.duet.pc.connectionState]") == [
            "connected",
            "connected",
        ]
    await snapshot(ana_page, "both-on-phone-desktop")
    await snapshot(ben_page, "both-on-phone-phone")
    calls = await console_calls(server)
    assert [(c["to"], c["state"]) for c in calls] == [
        ("+*********23", "in-conference"),
        ("+**********99", "in-conference"),
    ]
    assert calls[0]["conference"] == calls[1]["conference"]

    # Ana hangs up her phone: her page talks and plays again; Ben stays on the phone.
    async with server.client() as api:
        hung_up = await api.post(f"/phone/console/calls/{calls[0]['sid']}/hang-up")
        assert hung_up.status_code == 200, hung_up.text
    await phone_status(ben_page, "Ana left the phone call")
    await phone_status(ana_page, "You left the phone call")
    await ana_page.wait_for_function(LOUD, timeout=UI_TIMEOUT_MS)
    await expect(ana_page.locator("#mute")).to_have_attribute("aria-pressed", "false")
    assert await ben_page.evaluate(QUIET)
    assert await ben_page.evaluate("() => window.duet.onPhone") == ["guest"]

    # Two calls were this room's allowance (phone_call_me_per_room): a third waits, as Retry-After says.
    await ana_page.locator("#phone-actions").get_by_role("button", name="Join by phone").click()
    await ana_page.click("#call-me")
    await expect(ana_page.locator("#call-me-message")).to_have_text(
        "duet called too often for this session. Try again in 10 min.", timeout=UI_TIMEOUT_MS
    )
    await expect(ana_page.locator("#call-me")).to_be_disabled()
    await snapshot(ana_page, "call-me-rate-limited-desktop")
    ana.assert_clean()
    ben.assert_clean()


@dataclass
class RoutedSocket:
    """A page's signaling socket with the test in the middle."""

    to_page: WebSocketRoute
    to_server: WebSocketRoute
    decided: list[dict[str, Any]] = field(default_factory=list)
    """The page's ``decide`` frames, kept back: the server never asked the questions the test puts."""


async def route_sockets(who: Participant) -> list[RoutedSocket]:
    """Pass the page's signaling through, so that the test can also speak on it."""
    routes: list[RoutedSocket] = []

    def route(page_side: WebSocketRoute) -> None:
        routed = RoutedSocket(to_page=page_side, to_server=page_side.connect_to_server())

        def to_server(message: str | bytes) -> None:
            frame = json.loads(message)
            if frame.get("type") == "decide":
                routed.decided.append(frame)
            else:
                routed.to_server.send(message)

        page_side.on_message(to_server)
        routes.append(routed)

    await who.page.route_web_socket("**/ws", route)
    return routes


@pytest.mark.asyncio
@pytest.mark.parametrize("server_settings", [TYPED])
async def test_the_phone_prompt_and_the_phone_mode_offer_call_me(
    server: Any, participant: LaunchParticipant
) -> None:
    room = await server.create_room(host=ANA, guest=BEN)
    pin = room["dial_in"]["pin"]
    ana = await participant("host", phone=True)
    ben = await participant("guest")
    ana_routes, ben_routes = await route_sockets(ana), await route_sockets(ben)
    ana_page = await open_prejoin(ana, join_url(server, room["join_urls"]["host"]))
    ben_page = await open_prejoin(ben, join_url(server, room["join_urls"]["guest"]))
    await join_both(ana_page, ben_page)
    ana_socket, ben_socket = ana_routes[-1], ben_routes[-1]

    # The server's phone question, in its words: "Call me" comes first, then the tel: links.
    question = "The connection is too weak for a call. Continue by phone?"
    backup = {"peerPhone": None, "dialIn": BRIDGE, "pin": pin, "dialInLink": f"tel:{BRIDGE},,{pin}#"}
    suggest = {"type": "suggest", "id": "s7", "mode": "phone", "reason": question, "backup": backup}
    ana_socket.to_page.send(json.dumps(suggest))
    prompt = ana_page.locator("#fallback-prompt")
    await expect(prompt.locator("#prompt-reason")).to_have_text(question, timeout=UI_TIMEOUT_MS)
    await expect(prompt.locator("#prompt-accept")).to_have_text("Call me at …23")
    await expect(prompt.locator("a", has_text=f"Dial in (PIN {pin})")).to_have_attribute(
        "href", f"tel:{BRIDGE},,{pin}%23"
    )
    await expect(prompt.locator("#prompt-decline")).to_have_text("Keep trying")
    await snapshot(ana_page, "phone-prompt-call-me-phone")
    await prompt.locator("#prompt-accept").click()
    await expect(prompt).to_be_hidden()
    await phone_status(ana_page, "You joined by phone")
    await ana_page.wait_for_function(QUIET, timeout=UI_TIMEOUT_MS)
    assert ana_socket.decided == [{"type": "decide", "id": "s7", "accept": True}]
    await phone_status(ben_page, "Ana joined by phone")

    # The call moves to the phone: the panel offers Ben "Call me" (Ana is on the phone already).
    ana_socket.to_server.send(json.dumps({"type": "set-mode", "mode": "phone"}))
    for page in (ana_page, ben_page):
        await page.wait_for_function(MODE_IS, arg="phone", timeout=UI_TIMEOUT_MS)
    await expect(ana_page.locator("#mode-call-me")).to_be_hidden()
    await expect(ben_page.locator("#mode-call-me")).to_have_text("Call me")
    # Ana's own phone is busy (on the bridge): only the bridge is worth calling.
    await expect(ben_page.locator("#call-backup")).to_have_text(f"Dial in at +1 415 555 0100 (PIN {pin}).")

    # A call of Ben's that was not answered: he may try again, from the status line.
    ben_socket.to_page.send(json.dumps(PHONE_FAILED))
    await phone_status(ben_page, "Your phone did not answer")
    await snapshot(ben_page, "phone-did-not-answer-desktop")
    await ben_page.locator("#phone-actions").get_by_role("button", name="Try again").click()
    await expect(ben_page.locator("#call-me-number")).to_be_focused()  # still no number: the form
    await ben_page.locator("#call-me-number").fill(BEN_TYPED)
    await ben_page.locator("#call-me-number").press("Enter")
    for page in (ana_page, ben_page):
        await phone_status(page, "You're both on the phone")
        await page.wait_for_function(QUIET, timeout=UI_TIMEOUT_MS)
    await snapshot(ana_page, "both-on-phone-phone-mode-phone")
    ana.assert_clean()
    ben.assert_clean()


@pytest.mark.asyncio
@pytest.mark.parametrize("server_settings", [CONSOLE])
async def test_by_default_only_the_number_on_file_and_a_stranger_on_the_pin_is_told(
    server: Any, participant: LaunchParticipant
) -> None:
    """The deployment's defaults: no number box anywhere; Ben, with no number on file, is offered no
    "Call me"; someone dialling in with the PIN from another number, as Ana, is shown to both."""
    room = await server.create_room(host=ANA, guest=BEN)
    ana = await participant("host")
    ben = await participant("guest", phone=True)
    ana_page = await open_prejoin(ana, join_url(server, room["join_urls"]["host"]))
    ben_page = await open_prejoin(ben, join_url(server, room["join_urls"]["guest"]))
    await join_both(ana_page, ben_page)

    await ana_page.click("#phone-button")
    await expect(ana_page.locator("#call-me")).to_have_text("Call me at …23")
    for hidden in ("#call-me-other", "#call-me-form"):  # no other number may be typed
        await expect(ana_page.locator(hidden)).to_be_hidden()
    await ana_page.click("#phone-sheet-close")
    for hidden in ("#phone-button", "#call-me", "#call-me-form"):
        await expect(ben_page.locator(hidden)).to_be_hidden()

    # Someone who has the PIN calls from a number duet does not know and presses 1: "I am Ana".
    stranger = {"from": "+33612345678", "keys": [room["dial_in"]["pin"], "1"]}
    async with server.client() as api:
        dialled = await api.post("/phone/console/dial-in", json=stranger)
    assert dialled.json()["state"] == "in-conference", dialled.text
    await phone_status(ben_page, "Ana joined by phone from a number duet does not know")
    await phone_status(ana_page, "Joined by phone as you, from a number duet does not know")
    await snapshot(ben_page, "unknown-number-phone")
    # Ben may still join the conference, by dialling in (duet has no number to call for him).
    join = ben_page.locator("#phone-actions").get_by_role("link", name="Join by phone")
    await expect(join).to_have_attribute("href", f"tel:{BRIDGE},,{room['dial_in']['pin']}%23")
    ana.assert_clean()
    ben.assert_clean()


@pytest.mark.asyncio
@pytest.mark.parametrize("server_settings", [{"phone_dial_in": BRIDGE}])
async def test_without_a_phone_bridge_there_is_no_call_me(
    server: Any, participant: LaunchParticipant
) -> None:
    room = await server.create_room(host=ANA, guest={"name": "Ben", "phone": "+447700900123"})
    ana = await participant("host")
    ana_page = await open_prejoin(ana, join_url(server, room["join_urls"]["host"]))
    await ana_page.click("#join")
    await expect(ana_page.locator("#status")).to_have_text(
        "Waiting for Ben to join…", timeout=CALL_TIMEOUT_MS
    )
    for hidden in ("#phone-button", "#call-me", "#phone-sheet", "#phone-status"):
        await expect(ana_page.locator(hidden)).to_be_hidden()

    # A page told that duet can call (the bridge went away since): the server's 503 takes the button away.
    async def says_call_me(route: Route) -> None:
        response = await route.fetch()
        preview = await response.json()
        await route.fulfill(response=response, json={**preview, "call_me": {"phone": "+**********23"}})

    ben = await participant("guest", phone=True)
    await ben.page.route("**/preview", says_call_me)
    ben_page = await open_prejoin(ben, join_url(server, room["join_urls"]["guest"]))
    await ben_page.click("#join")
    await expect(ben_page.locator("#status")).to_have_text("Connected", timeout=CALL_TIMEOUT_MS)
    await ben_page.click("#phone-button")
    await ben_page.click("#call-me")
    await expect(ben_page.locator("#call-me-message")).to_have_text(
        "Phone calls are not available for this session.", timeout=UI_TIMEOUT_MS
    )
    await expect(ben_page.locator("#call-me")).to_be_hidden()
    await expect(ben_page.locator("#phone-button")).to_be_hidden()
    await snapshot(ben_page, "call-me-unavailable-phone")
    ana.assert_clean()
    ben.assert_clean()
