"""The headless participant: joins a room from its join link, as the browser page does.

It speaks the documented signaling protocol (``docs/protocol.md``) over the
room's WebSocket, sends a :class:`~media.sources.TrackSource` (a synthetic tone
and colour bars by default), and counts what it receives. Like the page, it
reports its stats every ``welcome.statsIntervalS`` seconds, follows the call mode
(``welcome.mode``, then every ``mode`` frame), answers ``suggest`` frames as told
(``on_suggest``), and keeps a timeline of the fallback frames for the report.

This module is the public face, :class:`HeadlessParticipant` (start, the waits,
hang-up, close, the report) and ``duet join``'s :func:`run_join`; it wires together:

* :mod:`media.room_session`: the phase (:mod:`media.participant_phase`) and ``welcome``,
  and what each socket event and server frame does to them;
* :mod:`media.signaling_channel`: the socket: ``join``, reading, pings, close codes, and
  reconnecting with backoff after a drop, asking to ``resume`` so media never stops;
* :mod:`media.call_driver`: what the room's frames mean for the peer connection
  (:mod:`media.negotiator`), the call mode and the ``stats`` reports;
* :mod:`media.participant_report`: the report, built from what was measured.

aiortc writes every candidate into the SDP, so this side never trickles; remote
candidates trickled by a browser are added as they come. When the peer connection
fails, the impolite side offers a fresh one (aiortc has no ICE restart).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections.abc import Callable, Coroutine
from types import TracebackType
from typing import Any, Literal

from websockets.exceptions import ConnectionClosed

from media.backoff import Backoff
from media.call_driver import CallDriver
from media.call_mode import SuggestAnswer
from media.ice import selected_candidate_types
from media.join_url import JoinUrl, parse_join_url
from media.negotiator import Negotiator
from media.participant_phase import ParticipantPhase, ParticipantStateError
from media.participant_report import build_report
from media.received import MediaKind, ReceivedMedia
from media.report import FallbackEvent, ParticipantReport, format_report
from media.room_session import RoomSession
from media.signaling_channel import OPEN_ERRORS
from media.sources import SyntheticSource, TrackSource
from media.stats_reporter import StatsReporter
from signaling.messages import Answer, Bye, Decide, ModeChanged, Offer, ServerMessage, SetMode, Stats, Welcome
from signaling.stats import CallMode

# format_report, ParticipantPhase and ParticipantStateError are re-exported: `duet join` takes
# run_join and format_report from here, tests and benchmarks the phases.
__all__ = [
    "HeadlessParticipant",
    "ParticipantPhase",
    "ParticipantStateError",
    "SuggestAnswer",
    "format_report",
    "run_join",
]


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
        self._bye_timeout_s = bye_timeout_s
        self._tasks: set[asyncio.Task[None]] = set()
        self._problems: list[str] = []
        self._received = ReceivedMedia(clock)
        self._negotiator = Negotiator(
            source=source or SyntheticSource(),
            received=self._received,
            send=self._send,
            clock=clock,
            on_failed=self._peer_connection_failed,
        )
        self._reporter = StatsReporter(clock)
        self._call = CallDriver(
            negotiator=self._negotiator,
            reporter=self._reporter,
            on_suggest=on_suggest,
            relay_only=relay_only,
            send=self._send,
            since_start=self._since_start,
        )
        self._session = RoomSession(
            self.join_url,
            call=self._call,
            clock=clock,
            reconnect=reconnect,
            backoff=backoff or Backoff(0.25, 4.0, random.Random()),
            open_timeout_s=open_timeout_s,
            close_timeout_s=bye_timeout_s,
            spawn=self._spawn,
            problems=self._problems,
        )
        self._channel = self._session.channel
        self._waits = self._session.waits
        self._closed = asyncio.Event()
        self._started_at: float | None = None
        self._ended_at: float | None = None

    # --- public API ----------------------------------------------------------

    @property
    def phase(self) -> ParticipantPhase:
        return self._session.phase

    @property
    def welcome(self) -> Welcome | None:
        """The server's ``welcome`` frame, once it came."""
        return self._session.welcome

    @property
    def mode(self) -> CallMode | None:
        """The call's mode (from ``welcome``, then every ``mode`` frame); ``None`` before ``welcome``."""
        return self._call.follower.mode

    @property
    def last_stats(self) -> Stats | None:
        """The latest ``stats`` report sent."""
        return self._call.last_stats

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
        self._session.begin()
        self._started_at = self._clock()
        try:
            await self._channel.open()
        except OPEN_ERRORS as exc:
            self._problems.append(f"could not join through {self.join_url.websocket_url}: {exc!r}")
            await self.close()
            raise

    async def wait_joined(self, timeout_s: float) -> Welcome:
        """Wait for ``welcome``; raise :class:`SignalingClosedError` if the socket ends first."""
        await self._waits.event(self._session.joined, "welcome", timeout_s)
        welcome = self._session.welcome
        assert welcome is not None
        return welcome

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
        if self._call.follower.mode is not mode:
            await self._waits.frame(
                lambda m: isinstance(m, ModeChanged) and m.mode is mode, f"mode {mode}", timeout_s
            )

    async def wait_event(
        self, type_: Literal["suggest", "withdraw", "mode"], timeout_s: float, *, mode: CallMode | None = None
    ) -> FallbackEvent:
        """The first ``type_`` frame (of ``mode``, if given) in the timeline; waits for one if none came."""

        def matches(event: FallbackEvent) -> bool:
            return event.type == type_ and (mode is None or event.mode == mode)

        for event in self._call.follower.events:
            if matches(event):
                return event
        await self._waits.frame(
            lambda m: m.type == type_ and (mode is None or getattr(m, "mode", None) is mode), type_, timeout_s
        )
        return next(event for event in reversed(self._call.follower.events) if matches(event))

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
        self._session.expect_joined("set_mode()")
        await self._channel.send(SetMode(mode=mode))

    def drop_signaling(self) -> None:
        """Cut the signaling socket with no closing handshake, as a network drop would (for tests and
        benchmarks): the participant reconnects by itself and resumes."""
        self._channel.abort()

    async def wait_signaling_closed(self, timeout_s: float | None = None) -> None:
        """Wait until the signaling socket has ended (closed by the server, or by ``close()``)."""
        await asyncio.wait_for(self._session.signaling_done.wait(), timeout_s)

    async def hang_up(self) -> None:
        """Leave as the page's hang-up button does: send ``bye``, let the server close, close everything."""
        if self._session.in_room and self._channel.has_socket:
            try:
                await self._channel.send(Bye())
                await asyncio.wait_for(self._session.signaling_done.wait(), self._bye_timeout_s)
            except ConnectionClosed:
                pass
            except TimeoutError:
                self._problems.append(
                    f"the server did not close the socket within {self._bye_timeout_s} s of bye"
                )
        await self.close()

    async def close(self) -> None:
        """Release everything: background tasks, the peer connection, the socket. Idempotent."""
        if self._session.closing:
            await self._closed.wait()
            return
        self._session.begin_close()
        try:
            tasks = list(self._tasks)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await self._negotiator.close()
            await self._channel.close()
        finally:
            self._session.closed()
            self._ended_at = self._clock()
            self._closed.set()

    def report(self) -> ParticipantReport:
        """A snapshot of everything measured so far."""
        return build_report(
            join_url=self.join_url,
            welcome=self._session.welcome,
            started_at=self._started_at,
            end=self._ended_at if self._ended_at is not None else self._clock(),
            welcome_at=self._session.welcome_at,
            first_connected_at=self._negotiator.first_connected_at,
            peer_connections=self._negotiator.sessions_created,
            connection_states=self._negotiator.states,
            received=self._received,
            signaling=self._channel.record,
            follower=self._call.follower,
            stats_sent=self._reporter.reports,
            problems=self._problems,
        )

    async def __aenter__(self) -> HeadlessParticipant:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    # --- helpers -------------------------------------------------------------

    def _spawn(self, coroutine: Coroutine[Any, Any, None], name: str) -> None:
        task = asyncio.create_task(coroutine, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _send(self, message: Offer | Answer | Decide | Stats) -> None:
        """The negotiator's and the call driver's way out: the current signaling socket."""
        await self._channel.send(message)

    def _peer_connection_failed(self) -> None:
        self._session.peer_connection_failed()

    def _since_start(self) -> float:
        return self._clock() - self._started_at if self._started_at is not None else 0.0


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
        except OPEN_ERRORS:
            return participant.report()  # start() noted why
        with contextlib.suppress(TimeoutError):
            await participant.wait_signaling_closed(duration)
        await participant.hang_up()
    finally:  # also on cancellation (Ctrl-C in `duet join`)
        await participant.close()
    return participant.report()
