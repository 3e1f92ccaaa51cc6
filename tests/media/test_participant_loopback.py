"""Two headless participants through a tiny in-test signaling relay, on loopback.

The relay speaks just enough of ``docs/protocol.md`` (join, welcome, peer-joined,
peer-left, relayed offer/answer/candidate, ping, bye; a ``quality`` frame after
every ``stats``, ``mode`` to both after a ``set-mode``) for the participant's
negotiation and mode following to be exercised end to end with real aiortc peers.
The real server is tested against the participant elsewhere.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, Literal

import pytest
import pytest_asyncio
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed

from media.errors import SignalingClosedError
from media.participant import HeadlessParticipant, ParticipantPhase, run_join
from media.report import format_report
from media.sources import SyntheticSource
from signaling.messages import (
    Answer,
    Bye,
    Candidate,
    CloseCode,
    Decide,
    Error,
    ErrorCode,
    IceCandidate,
    Join,
    LinkReport,
    ModeChanged,
    Offer,
    PeerInfo,
    PeerJoined,
    PeerLeft,
    Ping,
    Pong,
    Quality,
    Role,
    RoomInfo,
    ServerMessage,
    SetMode,
    Stats,
    Suggest,
    Welcome,
    dump_message,
    parse_client_message,
)
from signaling.stats import AudioLevel, CallMode, VideoLevel

ROOM_ID = "loopRoom1"
TOKENS = {"host-token": Role.HOST, "guest-token": Role.GUEST}
NAMES = {Role.HOST: "Ana", Role.GUEST: "Ben"}
WAIT_S = 10.0
SMALL = SyntheticSource(width=320, height=240)
"""Smaller frames keep the VP8 encoders cheap on the shared 2-core machine."""
SOME_LINK = LinkReport(audio=AudioLevel.GOOD, video=VideoLevel.UNKNOWN)


@dataclass
class Relay:
    """Just enough of a duet signaling server for one room.

    ``glare``: tell *both* sides ``peer-joined`` so both offer at once.
    ``trickle``: strip the candidates out of each SDP and send them as ``candidate``
    frames instead, as a browser would; an answer's candidates go *before* the answer.
    """

    glare: bool = False
    trickle: bool = False
    mode: CallMode = CallMode.VIDEO
    seats: dict[Role, ServerConnection] = field(default_factory=dict)
    trickled: int = 0
    stats: dict[Role, list[Stats]] = field(default_factory=lambda: {role: [] for role in Role})
    decisions: list[tuple[Role, Decide]] = field(default_factory=list)
    decided: asyncio.Event = field(default_factory=asyncio.Event)

    async def send_to(self, role: Role, message: ServerMessage) -> None:
        await self._send(self.seats[role], message)

    async def handle(self, ws: ServerConnection) -> None:
        join = parse_client_message(await ws.recv())
        assert isinstance(join, Join)
        role = TOKENS.get(join.token)
        if role is None:
            await self._send(ws, Error(code=ErrorCode.UNAUTHORIZED, message="This link is not valid."))
            await ws.close(CloseCode.UNAUTHORIZED, "unauthorized")
            return
        other = self.seats.get(role.other)
        self.seats[role] = ws
        await self._send(
            ws,
            Welcome(
                room=RoomInfo(id=ROOM_ID, title="Loopback"),
                you=PeerInfo(role=role, name=NAMES[role], present=True),
                peer=PeerInfo(role=role.other, name=NAMES[role.other], present=other is not None),
                polite=role is Role.GUEST,
                ice_servers=[],
                ping_interval_s=0.2,
                stats_interval_s=0.2,
                mode=self.mode,
            ),
        )
        if other is not None:
            await self._send(other, PeerJoined(peer=PeerInfo(role=role, name=NAMES[role], present=True)))
            if self.glare:
                await self._send(
                    ws, PeerJoined(peer=PeerInfo(role=role.other, name=NAMES[role.other], present=True))
                )
        reason: Literal["bye", "closed"] = "closed"
        try:
            async for raw in ws:
                message = parse_client_message(raw)
                peer = self.seats.get(role.other)
                match message:
                    case Ping(id=ping_id):
                        await self._send(ws, Pong(id=ping_id))
                    case Bye():
                        reason = "bye"
                        await ws.close(CloseCode.NORMAL, "bye")
                    case Offer() | Answer() | Candidate() if peer is not None:
                        await self._relay(peer, message)
                    case Stats():
                        self.stats[role].append(message)
                        await self._send(ws, Quality(you=SOME_LINK, peer=SOME_LINK))
                    case SetMode(mode=mode):
                        self.mode = mode
                        for seat in list(self.seats.values()):
                            await self._send(seat, ModeChanged(mode=mode, by=role, reason="by hand"))
                    case Decide():
                        self.decisions.append((role, message))
                        self.decided.set()
        except ConnectionClosed:
            pass
        finally:
            if self.seats.get(role) is ws:
                del self.seats[role]
                peer = self.seats.get(role.other)
                if peer is not None:
                    left = PeerLeft(peer=PeerInfo(role=role, name=NAMES[role]), reason=reason)
                    await self._send(peer, left)

    async def _relay(self, peer: ServerConnection, message: Offer | Answer | Candidate) -> None:
        if not self.trickle or isinstance(message, Candidate):
            await self._send(peer, message)
            return
        sdp, candidates = split_candidates(message.sdp)
        frames: list[ServerMessage] = [Candidate(candidate=c) for c in candidates]
        frames.append(Candidate(candidate=None))
        self.trickled += len(candidates)
        description = Offer(sdp=sdp) if isinstance(message, Offer) else Answer(sdp=sdp)
        frames = [description, *frames] if isinstance(message, Offer) else [*frames, description]
        for frame in frames:
            await self._send(peer, frame)

    @staticmethod
    async def _send(ws: ServerConnection, message: ServerMessage) -> None:
        try:
            await ws.send(dump_message(message))
        except ConnectionClosed:
            pass


def split_candidates(sdp: str) -> tuple[str, list[IceCandidate]]:
    """Remove ``a=candidate`` / ``a=end-of-candidates`` lines; return them as ``RTCIceCandidateInit``s."""
    kept: list[str] = []
    candidates: list[IceCandidate] = []
    index, mid = -1, None
    pending: list[str] = []
    for line in sdp.splitlines():
        if line.startswith("m="):
            candidates += [IceCandidate(candidate=c, sdp_mid=mid, sdp_m_line_index=index) for c in pending]
            index, mid, pending = index + 1, None, []
        if line.startswith("a=mid:"):
            mid = line[len("a=mid:") :]
        if line.startswith("a=candidate:"):
            pending.append(line[2:])
        elif line != "a=end-of-candidates":
            kept.append(line)
    candidates += [IceCandidate(candidate=c, sdp_mid=mid, sdp_m_line_index=index) for c in pending]
    return "\r\n".join(kept) + "\r\n", candidates


@dataclass
class RelayServer:
    relay: Relay
    port: int

    def url(self, token: str) -> str:
        return f"http://127.0.0.1:{self.port}/s/{ROOM_ID}#t={token}"


@contextlib.asynccontextmanager
async def running(relay: Relay) -> AsyncIterator[RelayServer]:
    async with serve(relay.handle, "127.0.0.1", 0) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        yield RelayServer(relay, port)


@pytest_asyncio.fixture(autouse=True)
async def no_tasks_left_behind() -> AsyncIterator[None]:
    """Every participant, and everything aiortc started for it, must be gone when a test ends."""
    before = asyncio.all_tasks()
    yield
    for _ in range(5):  # let cancelled tasks run their last step (yields, not timed sleeps)
        await asyncio.sleep(0)
    left = {task for task in asyncio.all_tasks() - before if task is not asyncio.current_task()}
    assert not left, f"tasks left pending: {sorted(task.get_name() for task in left)}"


async def join_both(server: RelayServer, **options: Any) -> tuple[HeadlessParticipant, HeadlessParticipant]:
    host = HeadlessParticipant(server.url("host-token"), source=SMALL, **options)
    guest = HeadlessParticipant(server.url("guest-token"), source=SMALL, **options)
    await host.start()
    await host.wait_joined(WAIT_S)
    await guest.start()
    await asyncio.gather(host.wait_connected(WAIT_S), guest.wait_connected(WAIT_S))
    return host, guest


async def exchange_media(*participants: HeadlessParticipant, video: int = 30, audio: int = 10) -> None:
    """Each participant receives ``video`` more video and ``audio`` more audio frames."""
    waits = []
    for p in participants:
        report = p.report()
        waits += [
            p.wait_frames("video", report.video_frames_received + video, WAIT_S),
            p.wait_frames("audio", report.audio_frames_received + audio, WAIT_S),
        ]
    await asyncio.gather(*waits)


@pytest.mark.asyncio
async def test_two_participants_exchange_audio_and_video() -> None:
    async with running(Relay()) as server:
        host, guest = await join_both(server)
        try:
            await exchange_media(host, guest)
            await guest.hang_up()
            await host.hang_up()
        finally:
            await asyncio.gather(host.close(), guest.close())
        await host.close()  # idempotent

    for report in (host.report(), guest.report()):
        assert report.ok, format_report(report)
        assert report.connection_states == ("new", "connecting", "connected", "closed")
        assert report.peer_connections == 1
        assert report.video_frames_received >= 30
        assert report.audio_frames_received >= 10
        assert report.video_frame_size == (320, 240)
        assert report.video_frame_sizes == ((320, 240),)
        assert report.time_to_connected_s is not None and report.time_to_first_video_frame_s is not None
        assert 0 < report.time_to_connected_s <= report.time_to_first_video_frame_s < WAIT_S
        assert (report.close_code, report.closed_by_server) == (1000, True)
        assert report.last_error is None
        assert report.problems == ()
    host_frames, guest_frames = host.report().signaling_frames, guest.report().signaling_frames
    assert (host_frames["welcome"], host_frames["peer-joined"], host_frames["answer"]) == (1, 1, 1)
    assert (guest_frames["welcome"], guest_frames["offer"]) == (1, 1)
    assert "peer-joined" not in guest_frames
    assert (host.report().role, guest.report().role) == ("host", "guest")
    assert host.phase is ParticipantPhase.CLOSED


@pytest.mark.asyncio
async def test_a_returning_guest_gets_a_fresh_peer_connection() -> None:
    async with running(Relay()) as server:
        host, first_guest = await join_both(server)
        second_guest = HeadlessParticipant(server.url("guest-token"), source=SMALL)
        try:
            await exchange_media(host, first_guest, video=5, audio=5)
            await first_guest.hang_up()
            await second_guest.start()
            await second_guest.wait_connected(WAIT_S)
            await exchange_media(host, second_guest)
            await second_guest.hang_up()
            await host.hang_up()
        finally:
            await asyncio.gather(host.close(), first_guest.close(), second_guest.close())

    report = host.report()
    assert report.peer_connections == 2
    assert report.connection_states == ("new", "connecting", "connected", "closed") * 2
    assert report.signaling_frames["peer-joined"] == 2
    assert report.signaling_frames["peer-left"] >= 1  # the second one races with our own bye
    assert report.problems == ()
    assert second_guest.report().ok


@pytest.mark.asyncio
async def test_glare_impolite_host_ignores_the_offer_polite_guest_starts_over() -> None:
    async with running(Relay(glare=True)) as server:
        host, guest = await join_both(server)
        try:
            await exchange_media(host, guest)
        finally:
            await asyncio.gather(host.hang_up(), guest.hang_up())

    host_report, guest_report = host.report(), guest.report()
    assert host_report.ok and guest_report.ok, format_report(host_report) + format_report(guest_report)
    assert (host_report.signaling_frames["offer"], host_report.signaling_frames["answer"]) == (1, 1)
    assert host_report.peer_connections == 1
    # the newcomer's waiting connection, its own offer's, and the polite fresh start
    assert guest_report.peer_connections == 3
    assert guest_report.connection_states == (
        "new",
        "closed",
        "new",
        "closed",
        "new",
        "connecting",
        "connected",
        "closed",
    )


@pytest.mark.asyncio
async def test_trickled_candidates_are_added_even_before_the_answer() -> None:
    relay = Relay(trickle=True)
    async with running(relay) as server:
        host, guest = await join_both(server)
        try:
            await exchange_media(host, guest)
        finally:
            await asyncio.gather(host.hang_up(), guest.hang_up())

    assert relay.trickled > 0
    assert host.report().signaling_frames["candidate"] > 1  # the candidates and the final null
    assert guest.report().signaling_frames["candidate"] > 1
    assert host.report().ok and guest.report().ok


@pytest.mark.asyncio
async def test_a_refused_token_ends_waits_at_once_with_the_close_code() -> None:
    async with running(Relay()) as server:
        participant = HeadlessParticipant(server.url("forged"))
        try:
            await participant.start()
            with pytest.raises(SignalingClosedError) as raised:
                await participant.wait_connected(WAIT_S)
            assert participant.phase is ParticipantPhase.DISCONNECTED
        finally:
            await participant.close()

    assert (raised.value.close_code, raised.value.error_code) == (4001, "unauthorized")
    assert "close code 4001" in str(raised.value)
    report = participant.report()
    assert report.last_error is not None and report.last_error.code == "unauthorized"
    assert (report.close_code, report.closed_by_server) == (4001, True)
    assert report.signaling_frames == {"error": 1}
    assert not report.ok


@pytest.mark.asyncio
async def test_run_join_alone_waits_out_the_duration_and_hangs_up() -> None:
    async with running(Relay()) as server:
        report = await run_join(server.url("host-token"), 0.5, source=SMALL)

    assert (report.role, report.name) == ("host", "Ana")
    assert report.time_to_connected_s is None
    assert report.peer_connections == 0
    assert 0.5 <= report.duration_s < WAIT_S
    assert (report.close_code, report.closed_by_server) == (1000, True)
    assert report.signaling_frames["pong"] >= 1  # welcome asked for a ping every 0.2 s
    assert not report.ok
    text = format_report(report)
    assert "room loopRoom1 as host (Ana)" in text and "NOT OK" in text
    data = json.loads(format_report(report, as_json=True))
    assert (data["role"], data["close_code"], data["ok"], data["video_frames_received"]) == (
        "host",
        1000,
        False,
        0,
    )


@pytest.mark.asyncio
async def test_run_join_two_sides_make_a_call() -> None:
    async with running(Relay()) as server:
        host_report, guest_report = await asyncio.gather(
            run_join(server.url("host-token"), 2.5, source=SMALL),
            run_join(server.url("guest-token"), 2.5, source=SMALL),
        )
    for report in (host_report, guest_report):
        assert report.ok, format_report(report)
        assert report.video_frames_received >= 20


@pytest.mark.asyncio
async def test_run_join_reports_a_refused_connection() -> None:
    with socket.socket() as probe:  # a loopback port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    report = await run_join(f"http://127.0.0.1:{port}/s/{ROOM_ID}#t=x", 5)

    assert len(report.problems) == 1 and "could not join through ws://127.0.0.1" in report.problems[0]
    assert (report.role, report.close_code) == (None, None)
    assert "could not join" in format_report(report)


@pytest.mark.asyncio
async def test_a_call_that_is_already_audio_only_starts_without_video_and_follows_the_mode() -> None:
    relay = Relay(mode=CallMode.AUDIO_ONLY)
    async with running(relay) as server:
        host, guest = await join_both(server, on_suggest="decline")
        try:
            await exchange_media(host, guest, video=0, audio=25)
            await asyncio.gather(*(p.wait_frame("quality", WAIT_S) for p in (host, guest)))  # reports flow
            assert host.mode is CallMode.AUDIO_ONLY and not host.sending_video
            assert host.report().video_frames_received == guest.report().video_frames_received == 0
            last = host.last_stats
            assert last is not None and last.sending_video is False
            assert last.inbound.audio is not None and last.inbound.audio.packets_received

            await host.set_mode(CallMode.VIDEO)
            await asyncio.gather(
                host.wait_mode(CallMode.VIDEO, WAIT_S), guest.wait_mode(CallMode.VIDEO, WAIT_S)
            )
            await exchange_media(host, guest, video=15, audio=0)  # both cameras came on, no renegotiation
            assert host.sending_video and guest.sending_video

            ask = Suggest(
                id="s7", mode=CallMode.AUDIO_ONLY, reason="Your video is lagging. Switch to audio only?"
            )
            await relay.send_to(Role.GUEST, ask)
            await asyncio.wait_for(relay.decided.wait(), WAIT_S)
            assert relay.decisions == [(Role.GUEST, Decide(id="s7", accept=False))]
        finally:
            await asyncio.gather(host.hang_up(), guest.hang_up())

    report = guest.report()
    assert report.peer_connections == 1 and report.problems == ()
    assert [(e.type, e.mode, e.answer) for e in report.fallback_events] == [
        ("mode", "video", None),
        ("suggest", "audio-only", "decline"),
    ]
    assert report.mode == "video" and report.stats_sent >= 1 and report.quality is not None
    assert all(stats.ice_state for stats in relay.stats[Role.GUEST])
    text = format_report(report)
    assert "call mode          video" in text
    assert "suggest audio-only [s7]: Your video is lagging. Switch to audio only? (decline)" in text
