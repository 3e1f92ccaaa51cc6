"""The headless participant: joins a room from its join link, as the browser page does.

It speaks the documented signaling protocol (``docs/protocol.md``) over the
room's WebSocket, sends a :class:`~media.sources.TrackSource` (a synthetic tone
and colour bars by default), and counts what it receives. This module is the
signaling edge: the socket, ``join``/``welcome``, pings, ``bye``, errors and
close codes; the offer/answer rules live in :mod:`media.negotiator`.

Like the page, it reports its stats every ``welcome.statsIntervalS`` seconds
(:mod:`media.stats_reporter`), follows the call mode (``welcome.mode``, then every
``mode`` frame: the camera is off in ``audio-only`` and ``phone``, the microphone
muted in ``phone``), answers ``suggest`` frames as told (``on_suggest``), and
keeps a timeline of the fallback frames for the report.

aiortc writes every candidate into the SDP, so this side never trickles; remote
candidates trickled by a browser are added as they come.

When the signaling socket drops (the server restarted, the network blinked) it reconnects by
itself with exponential backoff and jitter (:mod:`media.backoff`) and joins again with the same
token, asking to ``resume``: the peer connection is kept, so media never stops. When the peer
connection fails, the impolite side offers a fresh one (aiortc has no ICE restart).
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
import random
import time
from collections import Counter
from collections.abc import Callable, Coroutine
from types import TracebackType
from typing import Any, Literal

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI

from media.backoff import Backoff
from media.call_mode import ModeFollower, SuggestAnswer, local_media
from media.errors import ParticipantError, SignalingClosedError
from media.ice import rtc_configuration, selected_candidate_types
from media.join_url import JoinUrl, parse_join_url
from media.negotiator import Negotiator
from media.received import MediaKind, ReceivedMedia
from media.report import FallbackEvent, ParticipantReport, SignalingErrorInfo, format_report
from media.signaling_waits import SignalingWaits
from media.sources import SyntheticSource, TrackSource
from media.stats_reporter import StatsReporter
from signaling.messages import (
    Answer,
    Bye,
    Candidate,
    Decide,
    Error,
    IceServersUpdate,
    Join,
    ModeChanged,
    Offer,
    PeerBack,
    PeerJoined,
    PeerLeft,
    PeerReconnecting,
    Ping,
    ProtocolError,
    Quality,
    ServerMessage,
    SetMode,
    Stats,
    Suggest,
    Welcome,
    Withdraw,
    dump_message,
    parse_server_message,
)
from signaling.stats import CallMode

# format_report is re-exported: `duet join` takes run_join and format_report from here.
__all__ = [
    "HeadlessParticipant",
    "ParticipantPhase",
    "ParticipantStateError",
    "SuggestAnswer",
    "format_report",
    "run_join",
]

_ClientFrame = Join | Offer | Answer | Bye | Ping | Stats | Decide | SetMode

_log = logging.getLogger(__name__)

MAX_SERVER_FRAME_BYTES = 2**20
"""Largest frame accepted from the server (the server closes with 1009 above the same size)."""

FINAL_CLOSE_CODES = frozenset({1000, 4001, 4004, 4008, 4009, 4010, 4011, 4013, 4014})
"""Close codes after which reconnecting makes no sense (``bye``, a refused or ended room, replaced
by another tab). Any other end of the socket (no close frame, 1001, 1011, 1012 server restart,
4012 heartbeat) is reconnected."""


class ParticipantPhase(enum.StrEnum):
    """Where the participant's signaling is."""

    NEW = "new"
    JOINING = "joining"
    """Socket open, ``join`` sent, no ``welcome`` yet."""
    JOINED = "joined"
    RECONNECTING = "reconnecting"
    """The socket dropped after ``welcome``; reconnecting with backoff, the peer connection kept."""
    DISCONNECTED = "disconnected"
    """The signaling socket ended; the peer connection, if any, is left running until ``close()``."""
    CLOSED = "closed"


class ParticipantStateError(ParticipantError, RuntimeError):
    """A method was called in a phase where it makes no sense."""


class HeadlessParticipant:
    """One side of a duet call, without a browser.

    Typical use (``run_join`` does exactly this)::

        async with HeadlessParticipant(url) as participant:   # start() ... close()
            await participant.wait_connected(10)
            await participant.wait_frames("video", 30, 10)
            await participant.hang_up()
        report = participant.report()

    ``clock`` (seconds, monotonic) times everything in the report. ``on_suggest``
    says how to answer the server's ``suggest`` frames (see :data:`SuggestAnswer`).
    ``relay_only`` uses TURN relay candidates only (``iceTransportPolicy: "relay"``).
    """

    def __init__(
        self,
        join_url: str | JoinUrl,
        *,
        source: TrackSource | None = None,
        clock: Callable[[], float] = time.monotonic,
        open_timeout_s: float = 10.0,
        bye_timeout_s: float = 2.0,
        on_suggest: SuggestAnswer = "ignore",
        relay_only: bool = False,
        reconnect: bool = True,
        backoff: Backoff | None = None,
    ) -> None:
        self.join_url = join_url if isinstance(join_url, JoinUrl) else parse_join_url(join_url)
        self._clock = clock
        self._follower = ModeFollower(on_suggest)
        self._relay_only = relay_only
        self._reconnect = reconnect
        self._backoff = backoff or Backoff(0.25, 4.0, random.Random())
        self._lost_at: float | None = None
        self._reconnect_times: list[float] = []
        self._negotiation = asyncio.Lock()
        """Serialises negotiator calls: frames from the reader, and recovery after a failure."""
        self._open_timeout_s = open_timeout_s
        self._bye_timeout_s = bye_timeout_s
        self._phase = ParticipantPhase.NEW
        self._ws: ClientConnection | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._welcome: Welcome | None = None
        self._received = ReceivedMedia(clock)
        self._negotiator = Negotiator(
            source=source or SyntheticSource(),
            received=self._received,
            send=self._send,
            clock=clock,
            on_failed=self._peer_connection_failed,
        )
        self._joined = asyncio.Event()
        self._signaling_done = asyncio.Event()
        self._waits = SignalingWaits(self._signaling_done, self._closed_error)
        self._closing = False
        self._closed = asyncio.Event()
        self._started_at: float | None = None
        self._ended_at: float | None = None
        self._welcome_at: float | None = None
        self._frames: Counter[str] = Counter()
        self._last_error: SignalingErrorInfo | None = None
        self._close_code: int | None = None
        self._close_reason: str | None = None
        self._closed_by_server = False
        self._problems: list[str] = []
        self._peer_here = False
        """The other participant is connected to the room (as the latest frame said)."""
        self._reporter = StatsReporter(clock)
        self._last_stats: Stats | None = None

    # --- public API ----------------------------------------------------------

    @property
    def phase(self) -> ParticipantPhase:
        return self._phase

    @property
    def welcome(self) -> Welcome | None:
        """The server's ``welcome`` frame, once it came."""
        return self._welcome

    @property
    def mode(self) -> CallMode | None:
        """The call's mode (from ``welcome``, then every ``mode`` frame); ``None`` before ``welcome``."""
        return self._follower.mode

    @property
    def last_stats(self) -> Stats | None:
        """The latest ``stats`` report sent."""
        return self._last_stats

    @property
    def sending_video(self) -> bool:
        """Whether the current peer connection's camera is on."""
        return self._negotiator.sending_video

    @property
    def connection_state(self) -> str | None:
        """``connectionState`` of the current peer connection (``None`` when there is none)."""
        session = self._negotiator.session
        return session.pc.connectionState if session else None

    @property
    def selected_candidate_types(self) -> list[tuple[str, str]]:
        """``(local, remote)`` candidate types of the current peer connection's selected ICE pairs."""
        session = self._negotiator.session
        return selected_candidate_types(session.pc) if session else []

    async def start(self) -> None:
        """Open the signaling socket and send ``join``; the rest is handled in the background.

        Raises what opening the socket raises (``OSError``, ``websockets`` handshake
        errors, ``TimeoutError``), after noting it in the report.
        """
        if self._phase is not ParticipantPhase.NEW:
            raise ParticipantStateError(f"start() expects phase 'new', got {self._phase.value!r}")
        self._started_at = self._clock()
        self._phase = ParticipantPhase.JOINING
        try:
            self._ws = await connect(
                self.join_url.websocket_url,
                proxy=None,
                max_size=MAX_SERVER_FRAME_BYTES,
                open_timeout=self._open_timeout_s,
                close_timeout=self._bye_timeout_s,
            )
            await self._send(Join(token=self.join_url.token))
        except (OSError, InvalidHandshake, InvalidURI, TimeoutError, ConnectionClosed) as exc:
            self._problems.append(f"could not join through {self.join_url.websocket_url}: {exc!r}")
            await self.close()
            raise
        self._spawn(self._read_frames(self._ws), "duet-signaling-reader")

    async def wait_joined(self, timeout_s: float) -> Welcome:
        """Wait for ``welcome``; raise :class:`SignalingClosedError` if the socket ends first."""
        await self._waits.event(self._joined, "welcome", timeout_s)
        assert self._welcome is not None
        return self._welcome

    async def wait_connected(self, timeout_s: float) -> None:
        """Wait until the current peer connection is ``connected``.

        Raises :class:`SignalingClosedError` if the signaling socket ends first
        (a refused token, an ended room), ``TimeoutError`` after ``timeout_s`` seconds.
        """
        await self._waits.event(self._negotiator.connected, "the peer connection", timeout_s)

    async def wait_frames(self, kind: MediaKind, count: int, timeout_s: float) -> None:
        """Wait until ``count`` ``kind`` frames have arrived in all; ``TimeoutError`` after ``timeout_s``."""
        await asyncio.wait_for(self._received.wait_frames(kind, count), timeout_s)

    async def wait_mode(self, mode: CallMode, timeout_s: float) -> None:
        """Wait until the call is in ``mode`` (at once if it is already)."""
        if self._follower.mode is not mode:
            await self._waits.frame(
                lambda m: isinstance(m, ModeChanged) and m.mode is mode, f"mode {mode}", timeout_s
            )

    async def wait_event(
        self, type_: Literal["suggest", "withdraw", "mode"], timeout_s: float, *, mode: CallMode | None = None
    ) -> FallbackEvent:
        """The first ``type_`` frame (of ``mode``, if given) in the timeline; waits for one if none came."""

        def matches(event: FallbackEvent) -> bool:
            return event.type == type_ and (mode is None or event.mode == mode)

        for event in self._follower.events:
            if matches(event):
                return event
        await self._waits.frame(
            lambda m: m.type == type_ and (mode is None or getattr(m, "mode", None) is mode), type_, timeout_s
        )
        return next(event for event in reversed(self._follower.events) if matches(event))

    async def wait_frame(
        self, type_: str, timeout_s: float, where: Callable[[Any], bool] | None = None
    ) -> ServerMessage:
        """The next frame of ``type_`` from the server (one that satisfies ``where``, if given).

        Frames that came before the call do not count: it waits for a new one. Raises
        :class:`SignalingClosedError` if the socket ends first, ``TimeoutError`` after ``timeout_s``.
        """
        return await self._waits.frame(
            lambda m: m.type == type_ and (where is None or where(m)), type_, timeout_s
        )

    async def set_mode(self, mode: CallMode) -> None:
        """Switch the call by hand, as the page's audio-only and camera buttons do: send ``set-mode``.

        The call changes when the server's ``mode`` frame comes back (to both participants);
        :meth:`wait_mode` waits for it.
        """
        if self._phase is not ParticipantPhase.JOINED:
            raise ParticipantStateError(f"set_mode() expects phase 'joined', got {self._phase.value!r}")
        await self._send(SetMode(mode=mode))

    def drop_signaling(self) -> None:
        """Cut the signaling socket with no closing handshake, as a network drop would (for tests and
        benchmarks): the participant reconnects by itself and resumes."""
        if self._ws is not None:
            self._ws.transport.abort()

    async def wait_signaling_closed(self, timeout_s: float | None = None) -> None:
        """Wait until the signaling socket has ended (closed by the server, or by ``close()``)."""
        await asyncio.wait_for(self._signaling_done.wait(), timeout_s)

    async def hang_up(self) -> None:
        """Leave as the page's hang-up button does: send ``bye``, let the server close, close everything."""
        if self._phase in (ParticipantPhase.JOINING, ParticipantPhase.JOINED) and self._ws is not None:
            try:
                await self._send(Bye())
                await asyncio.wait_for(self._signaling_done.wait(), self._bye_timeout_s)
            except ConnectionClosed:
                pass
            except TimeoutError:
                self._problems.append(
                    f"the server did not close the socket within {self._bye_timeout_s} s of bye"
                )
        await self.close()

    async def close(self) -> None:
        """Release everything: background tasks, the peer connection, the socket. Idempotent."""
        if self._closing:
            await self._closed.wait()
            return
        self._closing = True
        try:
            tasks = list(self._tasks)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await self._negotiator.close()
            if self._ws is not None:
                await self._ws.close()
                self._note_close(self._ws)
        finally:
            self._signaling_done.set()
            self._phase = ParticipantPhase.CLOSED
            self._ended_at = self._clock()
            self._closed.set()

    def report(self) -> ParticipantReport:
        """A snapshot of everything measured so far."""
        start = self._started_at

        def since_start(at: float | None) -> float | None:
            return None if at is None or start is None else at - start

        you = self._welcome.you if self._welcome else None
        end = self._ended_at if self._ended_at is not None else self._clock()
        gap = self._received.longest_gap("video")
        return ParticipantReport(
            room_id=self.join_url.room_id,
            websocket_url=self.join_url.websocket_url,
            role=you.role.value if you else None,
            name=you.name if you else None,
            duration_s=0.0 if start is None else end - start,
            time_to_welcome_s=since_start(self._welcome_at),
            time_to_connected_s=since_start(self._negotiator.first_connected_at),
            time_to_first_video_frame_s=since_start(self._received.first_frame_at("video")),
            time_to_first_audio_frame_s=since_start(self._received.first_frame_at("audio")),
            video_frames_received=self._received.frames("video"),
            audio_frames_received=self._received.frames("audio"),
            video_frame_size=self._received.video_size,
            video_frame_sizes=tuple(self._received.video_sizes),
            peer_connections=self._negotiator.sessions_created,
            connection_states=tuple(self._negotiator.states),
            signaling_frames=dict(self._frames),
            last_error=self._last_error,
            close_code=self._close_code,
            close_reason=self._close_reason,
            closed_by_server=self._closed_by_server,
            problems=tuple(self._problems),
            started_at=start,
            mode=self._follower.mode.value if self._follower.mode else None,
            stats_sent=self._reporter.reports,
            quality=self._follower.quality,
            fallback_events=tuple(self._follower.events),
            longest_video_gap_s=gap[0] if gap else None,
            longest_video_gap_ended_s=since_start(gap[1]) if gap else None,
            last_video_frame_s=since_start(self._received.last_frame_at("video")),
            signaling_reconnects=len(self._reconnect_times),
            signaling_back_after_s=tuple(self._reconnect_times),
        )

    async def __aenter__(self) -> HeadlessParticipant:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    # --- signaling -------------------------------------------------------------

    async def _read_frames(self, ws: ClientConnection) -> None:
        try:
            async for raw in ws:
                try:
                    message = parse_server_message(raw)
                except ProtocolError as exc:
                    self._frames["invalid"] += 1
                    self._problems.append(f"unreadable frame from the server: {exc.message}")
                    continue
                self._frames[message.type] += 1
                try:
                    async with self._negotiation:
                        await self._handle(message)
                except Exception as exc:  # one bad negotiation step must not end the session
                    _log.warning("handling %s failed", message.type, exc_info=True)
                    self._problems.append(f"handling {message.type!r} failed: {exc!r}")
                self._waits.arrived(message)
        except ConnectionClosed:
            pass
        finally:
            if self._should_reconnect(ws):
                self._phase, self._lost_at = ParticipantPhase.RECONNECTING, self._clock()
                _log.info("signaling socket lost; reconnecting")
                self._spawn(self._reconnect_forever(), "duet-signaling-reconnect")
            else:
                self._note_close(ws)
                if self._phase in (ParticipantPhase.JOINING, ParticipantPhase.JOINED):
                    self._phase = ParticipantPhase.DISCONNECTED
                self._signaling_done.set()

    def _should_reconnect(self, ws: ClientConnection) -> bool:
        """After a ``welcome``, a socket that ended without a final close code is reconnected."""
        received = ws.protocol.close_rcvd
        return (
            self._reconnect
            and not self._closing
            and self._welcome is not None
            and self._phase in (ParticipantPhase.JOINING, ParticipantPhase.JOINED)
            and (received is None or received.code not in FINAL_CLOSE_CODES)
        )

    async def _reconnect_forever(self) -> None:
        """Open a new socket with backoff and join again with the same token, asking to resume."""
        while not self._closing:
            await asyncio.sleep(self._backoff.next_delay())  # the backoff timer, not synchronisation
            try:
                ws = await connect(
                    self.join_url.websocket_url,
                    proxy=None,
                    max_size=MAX_SERVER_FRAME_BYTES,
                    open_timeout=self._open_timeout_s,
                    close_timeout=self._bye_timeout_s,
                )
            except (OSError, InvalidHandshake, TimeoutError, ConnectionClosed) as exc:
                _log.info("reconnect attempt %d failed: %r", self._backoff.attempts, exc)
                continue
            self._ws, self._phase = ws, ParticipantPhase.JOINING
            try:  # resume only with a peer connection worth keeping; the welcome says what the room kept
                await self._send(Join(token=self.join_url.token, resume=self._negotiator.alive))
            except ConnectionClosed:
                continue
            self._spawn(self._read_frames(ws), "duet-signaling-reader")
            return

    async def _handle(self, message: ServerMessage) -> None:
        match message:
            case Welcome():
                await self._on_welcome(message)
            case PeerJoined():
                self._peer_here = True
                await self._negotiator.offer_from_scratch()
            case PeerBack():
                self._peer_here = True
                if not self._negotiator.alive:  # ours died meanwhile: start over
                    await self._negotiator.offer_from_scratch()
            case PeerReconnecting():
                self._peer_here = False  # keep the peer connection: media may well still flow
            case PeerLeft():
                self._peer_here = False
                await self._negotiator.end_session()
            case Offer():
                await self._negotiator.on_offer(message.sdp)
            case Answer():
                await self._negotiator.on_answer(message.sdp)
            case Candidate():
                await self._negotiator.on_candidate(message.candidate)
            case Quality() | Suggest() | Withdraw() | ModeChanged():
                previous = self._follower.mode
                reply = self._follower.observe(message, self._since_start())
                self._follow_mode(previous)
                if reply is not None:
                    await self._send(reply)
            case IceServersUpdate() if self._welcome is not None:
                # Fresh TURN credentials: the running connection keeps its relay; the next one uses these.
                self._welcome = self._welcome.model_copy(update={"ice_servers": message.ice_servers})
                self._negotiator.configure(
                    rtc_configuration(message.ice_servers, relay_only=self._relay_only),
                    polite=self._welcome.polite,
                )
            case Error():
                self._last_error = SignalingErrorInfo(code=message.code.value, message=message.message)
                _log.info("server error %s: %s", message.code.value, message.message)
            case _:  # pong, bye: counted, nothing to do
                pass

    async def _on_welcome(self, welcome: Welcome) -> None:
        if self._welcome is not None and self._phase is ParticipantPhase.JOINING:
            await self._on_welcome_back(welcome)
            return
        if self._phase is not ParticipantPhase.JOINING:
            raise ParticipantStateError(
                f"expected welcome while {ParticipantPhase.JOINING.value}, got it while {self._phase.value}"
            )
        self._negotiator.configure(
            rtc_configuration(welcome.ice_servers, relay_only=self._relay_only), polite=welcome.polite
        )
        self._welcome, self._welcome_at = welcome, self._clock()
        self._phase = ParticipantPhase.JOINED
        self._follower.welcome(welcome.mode)
        self._follow_mode(None)
        self._joined.set()
        self._peer_here = welcome.peer.present
        self._spawn(self._send_pings(welcome.ping_interval_s), "duet-signaling-ping")
        self._spawn(self._send_stats(welcome.stats_interval_s), "duet-stats-report")
        if welcome.peer.present:
            await self._negotiator.wait_for_offer()  # the one already there offers

    async def _on_welcome_back(self, welcome: Welcome) -> None:
        """Joined again after a reconnect: keep the peer connection if the room resumed the pairing."""
        self._negotiator.configure(
            rtc_configuration(welcome.ice_servers, relay_only=self._relay_only), polite=welcome.polite
        )
        self._welcome, self._phase = welcome, ParticipantPhase.JOINED
        self._backoff.reset()
        if self._lost_at is not None:
            self._reconnect_times.append(self._clock() - self._lost_at)
            self._lost_at = None
        previous = self._follower.mode
        self._follower.welcome(welcome.mode)
        self._follow_mode(previous)
        self._peer_here = welcome.peer.present
        if welcome.resumed:
            if welcome.peer.present and not self._negotiator.alive:
                await self._negotiator.offer_from_scratch()  # ours died while we were away
            return
        await self._negotiator.end_session()  # the room started over: so do we
        if welcome.peer.present:
            await self._negotiator.wait_for_offer()

    def _peer_connection_failed(self) -> None:
        if not self._closing:
            self._spawn(self._recover(), "duet-peer-recovery")

    async def _recover(self) -> None:
        """The peer connection failed: the impolite side offers a fresh one (the polite side answers)."""
        async with self._negotiation:
            welcome = self._welcome
            if (
                welcome is None
                or welcome.polite
                or not self._peer_here
                or self._phase is not ParticipantPhase.JOINED
                or self._negotiator.alive
            ):
                return  # the polite side waits; without signaling, the rejoin's welcome decides
            _log.info("peer connection failed; offering a fresh one")
            try:
                await self._negotiator.offer_from_scratch()
            except Exception as exc:
                self._problems.append(f"recovering a failed peer connection failed: {exc!r}")

    async def _send_pings(self, interval_s: float) -> None:
        sequence = 0
        while True:
            await asyncio.sleep(interval_s)  # a timer, not synchronisation
            sequence += 1
            try:
                await self._send(Ping(id=sequence))
            except ConnectionClosed:
                continue  # reconnecting, or about to be closed

    async def _send_stats(self, interval_s: float) -> None:
        """Every ``interval_s`` seconds while a peer connection exists: a ``stats`` report."""
        while True:
            await asyncio.sleep(interval_s)  # the report timer, not synchronisation
            session = self._negotiator.session
            if session is None or session.closed:
                continue
            try:
                stats = await self._reporter.report(session)
            except Exception:  # the peer connection closed under us: the next tick has a new one or none
                _log.debug("reading stats failed", exc_info=True)
                continue
            try:
                await self._send(stats)
            except ConnectionClosed:
                continue  # reconnecting, or about to be closed
            self._last_stats = stats

    def _follow_mode(self, previous: CallMode | None) -> None:
        """Apply the call's mode to the local media, if it changed from ``previous``."""
        mode = self._follower.mode
        if mode is None or mode is previous:
            return
        camera_on, muted = local_media(mode)
        self._negotiator.set_local_media(camera_on=camera_on, muted=muted)
        session = self._negotiator.session
        if session is not None and previous is not None and (previous is CallMode.VIDEO) != camera_on:
            session.inbound.freezes.pause()  # the other's video stops or restarts on purpose: no freeze

    async def _send(self, message: _ClientFrame) -> None:
        if self._ws is None:
            raise ParticipantStateError(f"sending {message.type!r} needs an open signaling socket, got none")
        await self._ws.send(dump_message(message))

    # --- helpers -------------------------------------------------------------

    def _spawn(self, coroutine: Coroutine[Any, Any, None], name: str) -> None:
        task = asyncio.create_task(coroutine, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _since_start(self) -> float:
        return self._clock() - self._started_at if self._started_at is not None else 0.0

    def _note_close(self, ws: ClientConnection) -> None:
        received = ws.protocol.close_rcvd
        if received is None or self._close_code is not None:
            return
        self._close_code, self._close_reason = received.code, received.reason or None
        self._closed_by_server = bool(ws.protocol.close_rcvd_then_sent)

    def _closed_error(self, what: str) -> SignalingClosedError:
        error = self._last_error
        return SignalingClosedError(
            what,
            close_code=self._close_code,
            error_code=error.code if error else None,
            error_message=error.message if error else None,
        )


async def run_join(
    url: str,
    duration: float,
    *,
    source: TrackSource | None = None,
    open_timeout_s: float = 10.0,
    on_suggest: SuggestAnswer = "ignore",
    relay_only: bool = False,
) -> ParticipantReport:
    """Join the room behind ``url``, stay ``duration`` seconds (less if the server closes), hang up.

    ``on_suggest`` answers the server's fallback suggestions (``accept``, ``decline``) or
    leaves them unanswered (``ignore``); the call follows every ``mode`` the server sends.

    This is ``duet join <url> [--duration S]``. Connection failures (refused, timed
    out, rejected handshake) and server-side refusals (bad token, ended room) do not
    raise: they end up in the report's ``problems``, ``last_error`` and ``close_code``.
    A malformed ``url`` raises :class:`~media.errors.JoinUrlError`.
    """
    participant = HeadlessParticipant(
        url, source=source, open_timeout_s=open_timeout_s, on_suggest=on_suggest, relay_only=relay_only
    )
    try:
        try:
            await participant.start()
        except (OSError, InvalidHandshake, InvalidURI, TimeoutError, ConnectionClosed):
            return participant.report()  # start() noted why
        with contextlib.suppress(TimeoutError):
            await participant.wait_signaling_closed(duration)
        await participant.hang_up()
    finally:  # also on cancellation (Ctrl-C in `duet join`)
        await participant.close()
    return participant.report()
