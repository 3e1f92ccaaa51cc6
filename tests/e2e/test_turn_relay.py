"""Calls relayed through a real TURN server (coturn) with credentials duet issued at join time.

Every peer here is relay-only (``iceTransportPolicy: "relay"``): it gathers no host candidates,
so a call that connects went through coturn, and one whose credentials coturn refuses cannot.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from aiortc import RTCPeerConnection
from conftest import RunningServer
from coturn import TurnServer, running_turnserver

from app.turn import turn_credentials
from media.ice import rtc_configuration
from media.participant import HeadlessParticipant
from signaling.messages import IceServer

if TYPE_CHECKING:
    from tests.e2e.conftest import LaunchParticipant

RELAY_ONLY_SCRIPT = """(() => {
  const Native = window.RTCPeerConnection;
  window.RTCPeerConnection = function (config = {}) {
    return new Native({ ...config, iceTransportPolicy: "relay" });
  };
  window.RTCPeerConnection.prototype = Native.prototype;
  Object.setPrototypeOf(window.RTCPeerConnection, Native);
})();"""
"""Playwright init script: every RTCPeerConnection the page builds is relay-only (tests only)."""

SELECTED_PAIR_TYPES = """async () => {
  const stats = await window.duet.pc.getStats();
  for (const report of stats.values()) {
    if (report.type === "transport" && report.selectedCandidatePairId) {
      const pair = stats.get(report.selectedCandidatePairId);
      const type = (id) => stats.get(id).candidateType;
      return [type(pair.localCandidateId), type(pair.remoteCandidateId)];
    }
  }
  return null;
}"""

REMOTE_VIDEO_RENDERS = """() => {
  const video = document.getElementById("remote-video");
  return video.videoWidth > 0 && video.currentTime > 0.5 && !video.paused;
}"""


@pytest.fixture
def turnserver(tmp_path: Path) -> Iterator[TurnServer]:
    with running_turnserver(tmp_path / "coturn") as server:
        yield server


@pytest.fixture
def server_settings(turnserver: TurnServer) -> dict[str, Any]:
    return {"turn_urls": [turnserver.url], "turn_secret": turnserver.secret, "turn_ttl_s": 300}


async def test_two_headless_participants_call_through_the_relay(
    server: RunningServer, turnserver: TurnServer
) -> None:
    room = await server.create_room()
    urls = room["join_urls"]
    async with HeadlessParticipant(urls["host"], relay_only=True) as host:
        welcome = await host.wait_joined(timeout_s=5)
        (issued,) = welcome.ice_servers
        assert issued.urls == [turnserver.url]
        assert issued.username is not None and issued.username.endswith(f":{room['id']}.host")
        expiry = int(issued.username.split(":")[0])
        assert time.time() + 290 < expiry <= time.time() + 301  # turn_ttl_s = 300
        async with HeadlessParticipant(urls["guest"], relay_only=True) as guest:
            guest_welcome = await guest.wait_joined(timeout_s=5)
            assert guest_welcome.ice_servers[0].credential != issued.credential  # per participant
            await asyncio.gather(host.wait_connected(timeout_s=15), guest.wait_connected(timeout_s=15))
            await asyncio.gather(
                host.wait_frames("video", 30, timeout_s=20), guest.wait_frames("video", 30, timeout_s=20)
            )
            assert host.selected_candidate_types == [("relay", "relay")]
            assert guest.selected_candidate_types == [("relay", "relay")]
    log = turnserver.log()
    assert f"{room['id']}.host" in log and f"{room['id']}.guest" in log  # both allocated on coturn
    assert issued.credential is not None and issued.credential not in log  # never logged


async def _relay_only_pair(servers: list[IceServer], timeout_s: float) -> tuple[str, list[str]]:
    """Two aiortc peers, relay-only with ``servers``: the offerer's final state and its candidates."""
    config = rtc_configuration(servers, relay_only=True)
    offerer, answerer = RTCPeerConnection(config), RTCPeerConnection(config)
    connected = asyncio.Event()

    @offerer.on("connectionstatechange")
    def _changed() -> None:
        if offerer.connectionState in ("connected", "failed"):
            connected.set()

    try:
        offerer.createDataChannel("probe")
        await offerer.setLocalDescription(await offerer.createOffer())
        candidates = [line for line in offerer.localDescription.sdp.splitlines() if "typ " in line]
        await answerer.setRemoteDescription(offerer.localDescription)
        await answerer.setLocalDescription(await answerer.createAnswer())
        await offerer.setRemoteDescription(answerer.localDescription)
        try:
            await asyncio.wait_for(connected.wait(), timeout_s)
        except TimeoutError:
            pass
        return offerer.connectionState, candidates
    finally:
        await offerer.close()
        await answerer.close()


async def test_expired_credentials_are_refused(turnserver: TurnServer) -> None:
    def servers(now: float) -> list[IceServer]:
        username, password = turn_credentials(turnserver.secret, user_id="probe", now=now, ttl_s=60)
        return [IceServer(urls=[turnserver.url], username=username, credential=password)]

    state, candidates = await _relay_only_pair(servers(time.time()), timeout_s=10)
    assert state == "connected" and all("typ relay" in line for line in candidates)  # the control

    expired_at = int(time.time()) - 1
    state, candidates = await _relay_only_pair(servers(expired_at - 60), timeout_s=3)
    assert (state, candidates) == ("new", [])  # no relay allocated, so nothing to connect with
    assert f"Cannot find credentials of user <{expired_at}:probe>" in turnserver.log()


def test_the_turnserver_stops(turnserver: TurnServer) -> None:
    assert turnserver.process.poll() is None
    turnserver.stop()
    assert turnserver.process.poll() is not None


@pytest.mark.asyncio
async def test_chromium_and_a_headless_participant_call_through_the_relay(
    server: RunningServer, turnserver: TurnServer, participant: LaunchParticipant
) -> None:
    room = await server.create_room()
    browser = await participant("host")
    await browser.context.add_init_script(RELAY_ONLY_SCRIPT)
    page = browser.page
    await page.goto(room["join_urls"]["host"])  # public_url is the test server
    await page.click("#join", timeout=10_000)
    async with HeadlessParticipant(room["join_urls"]["guest"], relay_only=True) as guest:
        await guest.wait_connected(timeout_s=20)
        await guest.wait_frames("video", 30, timeout_s=20)
        await page.wait_for_function(REMOTE_VIDEO_RENDERS, polling=100, timeout=20_000)
        assert await page.evaluate("() => window.duet.pc.getConfiguration().iceTransportPolicy") == "relay"
        assert await page.evaluate(SELECTED_PAIR_TYPES) == ["relay", "relay"]
        assert guest.selected_candidate_types == [("relay", "relay")]
    browser.assert_clean()
