"""Calls relayed through a real TURN server (coturn) with credentials duet issued at join time.

Every peer here is relay-only (``iceTransportPolicy: "relay"``): it gathers no host candidates,
so a call that connects went through coturn, and one whose credentials coturn refuses cannot.

coturn checks a credential's expiry only when a TURN session (one client 5-tuple) first
authenticates; later requests of that session (Refresh, ChannelBind, CreatePermission) are checked
against the key it cached then. So a relayed call outlives its credentials, and only new
allocations (an ICE restart, a fresh peer connection) need fresh ones: see the README, "TURN relay".
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import aioice.turn
import pytest
from aiortc import RTCPeerConnection
from conftest import RunningServer
from coturn import TurnServer, running_turnserver

import app.live_rooms
from app.config import Settings
from app.turn import ice_servers_for, turn_credentials
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

CREDENTIAL_TTL_S = 3
"""How long the credentials live in the test that outlives them (duet's own minimum is 60 s)."""

SHORT_LIFETIMES = [
    "--max-allocate-lifetime=3",  # aioice refreshes an allocation 5/6 into it: every 2.5 s
    "--channel-lifetime=4",  # a channel binding must be refreshed within 4 s ...
    "--permission-lifetime=4",  # ... and so must the permission it installs
    "--stale-nonce=2",  # a request with a nonce older than 2 s gets 438, and is retried with the new one
]
"""coturn options that make every refresh of the RFC 8656 allocation happen within seconds (in
production: allocations 600 s, permissions 300 s, channel bindings 600 s, nonces 600 s if stale)."""

CHANNEL_REFRESH_S = 2
"""How often the test's aioice re-binds its channels (its default is 500 s: RFC 8656 says 10 min)."""

REMOTE_VIDEO_RENDERS = """() => {
  const video = document.getElementById("remote-video");
  return video.videoWidth > 0 && video.currentTime > 0.5 && !video.paused;
}"""


@pytest.fixture
def turnserver(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[TurnServer]:
    """coturn; a test parametrized indirectly on ``turnserver`` gives it more options."""
    with running_turnserver(tmp_path / "coturn", options=getattr(request, "param", ())) as server:
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


class _TurnClientLog(logging.Handler):
    """aioice's TURN client log (``aioice.turn``, INFO): allocations created, refreshed, deleted,
    channels bound; :meth:`wait_until` wakes on each new record."""

    CREATED = "TURN allocation created %s (expires in %d seconds)"
    REFRESHED = "TURN allocation refreshed %s (expires in %d seconds)"
    REFRESH_FAILED = "TURN allocation refresh failed %s: %s"
    DELETED = "TURN allocation deleted %s"
    CHANNEL_BOUND = "TURN channel bound %d %s"
    """aioice's own log formats (aioice/turn.py)."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.records: list[logging.LogRecord] = []
        self._loop = asyncio.get_running_loop()
        self._changed = asyncio.Event()

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)
        self._loop.call_soon_threadsafe(self._changed.set)

    def addresses(self, message: str, *, since: float = 0.0) -> list[tuple[str, int]]:
        """The addresses that the records of format ``message`` named, from ``since`` (UNIX seconds):
        the relayed address for allocations, the peer's (the other side's relay) for channel bindings."""
        named = -1 if message == self.CHANNEL_BOUND else 0
        return [
            cast(tuple[str, int], record.args[named])
            for record in self.records
            if record.msg == message and record.created >= since and isinstance(record.args, tuple)
        ]

    def live_allocations(self) -> set[tuple[str, int]]:
        return set(self.addresses(self.CREATED)) - set(self.addresses(self.DELETED))

    async def wait_until(self, condition: Callable[[], bool], timeout_s: float) -> None:
        async with asyncio.timeout(timeout_s):
            while not condition():
                self._changed.clear()
                await self._changed.wait()


@pytest.fixture
async def turn_client_log() -> AsyncIterator[_TurnClientLog]:
    handler, logger = _TurnClientLog(), logging.getLogger("aioice.turn")
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


def _expiry(server: IceServer) -> int:
    """The UNIX second after which coturn refuses ``server``'s credential (``<expiry>:<user id>``)."""
    assert server.username is not None
    return int(server.username.split(":")[0])


@pytest.mark.parametrize("turnserver", [SHORT_LIFETIMES], indirect=True, ids=["short-lifetimes"])
async def test_a_relayed_call_outlives_its_turn_credentials(
    server: RunningServer,
    turnserver: TurnServer,
    turn_client_log: _TurnClientLog,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Two headless participants keep calling through coturn past their credentials' expiry.

    duet issues the credentials (its own code, its clock shifted so that they expire
    ``CREDENTIAL_TTL_S`` after the join); coturn grants lifetimes of seconds, so the call
    refreshes its allocations, channel bindings, permissions and nonces several times while the
    test runs; aioice re-binds channels every ``CHANNEL_REFRESH_S`` instead of every 500 s.
    """

    def issued_to_expire_soon(settings: Settings, *, room_id: str, role: str, now: float) -> list[IceServer]:
        """duet's own credentials, issued as if ``turn_ttl_s - CREDENTIAL_TTL_S`` seconds ago."""
        issued_at = now - settings.turn_ttl_s + CREDENTIAL_TTL_S
        return ice_servers_for(settings, room_id=room_id, role=role, now=issued_at)

    monkeypatch.setattr(app.live_rooms, "ice_servers_for", issued_to_expire_soon)
    monkeypatch.setattr(
        aioice.turn,
        "create_turn_endpoint",
        functools.partial(aioice.turn.create_turn_endpoint, channel_refresh_time=CHANNEL_REFRESH_S),
    )
    log = turn_client_log
    room = await server.create_room()
    urls = room["join_urls"]
    async with (
        HeadlessParticipant(urls["host"], relay_only=True) as host,
        HeadlessParticipant(urls["guest"], relay_only=True) as guest,
    ):
        welcomes = await asyncio.gather(host.wait_joined(timeout_s=5), guest.wait_joined(timeout_s=5))
        await asyncio.gather(host.wait_connected(timeout_s=15), guest.wait_connected(timeout_s=15))
        credentials = [welcome.ice_servers[0] for welcome in welcomes]
        # coturn refuses a username once its expiry is in the past (userdb.c, get_user_key)
        refused_from = max(_expiry(ice) for ice in credentials) + 1
        assert refused_from <= time.time() + CREDENTIAL_TTL_S + 2  # short-lived indeed

        def refreshed_twice_after_expiry() -> bool:
            refreshed = log.addresses(log.REFRESHED, since=refused_from)
            bound = log.addresses(log.CHANNEL_BOUND, since=refused_from)
            live = log.live_allocations()
            return bool(live) and all(refreshed.count(a) >= 2 and a in bound for a in live)

        # two allocation lifetimes past the expiry: 2 refreshes, a few channel bindings, stale nonces
        await log.wait_until(refreshed_twice_after_expiry, timeout_s=CREDENTIAL_TTL_S + 15)
        assert log.addresses(log.REFRESH_FAILED) == []
        refusals = ("Cannot find credentials of user", "credentials are incorrect")  # check_stun_auth
        assert not any(text in turnserver.log() for text in refusals)

        # a new allocation with the same credential, meanwhile, is refused
        state, candidates = await _relay_only_pair([credentials[0]], timeout_s=3)
        assert (state, candidates) == ("new", [])
        assert f"Cannot find credentials of user <{credentials[0].username}>" in turnserver.log()

        # and the call goes on
        for participant in (host, guest):
            frames = participant.report().video_frames_received
            await participant.wait_frames("video", frames + 30, timeout_s=10)
            report = participant.report()
            assert report.connection_states == ("new", "connecting", "connected")  # never failed
            assert report.peer_connections == 1 and report.problems == ()
            # and never stalled (about 0.25 s measured)
            assert report.longest_video_gap_s is not None and report.longest_video_gap_s < 2.0
            assert participant.selected_candidate_types == [("relay", "relay")]
    assert "Stale nonce" in turnserver.log()  # nonces went stale too: 438, retried with the new nonce
