"""The headless participant's signaling socket: open, join, read, ping, reconnect, close.

A :class:`SignalingChannel` owns the room's WebSocket and what is about the socket rather than the
call: the frame-size cap, the ``join`` sent on every new socket, parsing and counting the server's
frames, the last ``error`` frame, the close code and who closed, keepalive pings, and reconnecting
with exponential backoff and jitter (:mod:`media.backoff`) when the socket drops. What the frames
mean, and the participant's phase, belong to its owner, which the channel tells through callbacks:
every frame in arrival order (``on_frame``), a lost socket (``on_lost``: reconnect or not?), a new
socket about to join again (``rejoining``: ask to resume?) and the end of signaling (``on_ended``).
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI

from media.backoff import Backoff
from media.errors import SignalingClosedError
from media.join_url import JoinUrl
from media.participant_phase import ParticipantStateError
from media.report import SignalingErrorInfo
from signaling.messages import (
    Answer,
    Bye,
    Decide,
    Error,
    Join,
    Offer,
    Ping,
    ProtocolError,
    ServerMessage,
    SetMode,
    Stats,
    dump_message,
    parse_server_message,
)

__all__ = [
    "FINAL_CLOSE_CODES",
    "MAX_SERVER_FRAME_BYTES",
    "OPEN_ERRORS",
    "ClientFrame",
    "SignalingChannel",
    "SignalingRecord",
]

_log = logging.getLogger(__name__)

ClientFrame = Join | Offer | Answer | Bye | Ping | Stats | Decide | SetMode
"""Every frame the headless participant sends."""

Spawn = Callable[[Coroutine[Any, Any, None], str], None]
"""Runs a named background task that the owner cancels when it closes."""

MAX_SERVER_FRAME_BYTES = 2**20
"""Largest frame accepted from the server (the server closes with 1009 above the same size)."""

FINAL_CLOSE_CODES = frozenset({1000, 4001, 4004, 4008, 4009, 4010, 4011, 4013, 4014})
"""Close codes after which reconnecting makes no sense (``bye``, a refused or ended room, replaced
by another tab). Any other end of the socket (no close frame, 1001, 1011, 1012 server restart,
4012 heartbeat) is reconnected."""

OPEN_ERRORS = (OSError, InvalidHandshake, InvalidURI, TimeoutError, ConnectionClosed)
"""What :meth:`SignalingChannel.open` raises when the socket cannot be opened or ``join`` sent."""

_REOPEN_ERRORS = (OSError, InvalidHandshake, TimeoutError, ConnectionClosed)
"""A failed reconnect attempt: try again after the next backoff delay."""


@dataclass(slots=True)
class SignalingRecord:
    """What the signaling socket saw, for the participant's report."""

    frames: Counter[str] = field(default_factory=Counter)
    """Frames received by ``type`` (``invalid``: unreadable ones), over every socket."""
    last_error: SignalingErrorInfo | None = None
    """The latest ``error`` frame from the server."""
    close_code: int | None = None
    """The server's close code when signaling ended (``None``: no close frame)."""
    close_reason: str | None = None
    closed_by_server: bool = False
    """The server sent its close frame first."""
    reconnect_times: list[float] = field(default_factory=list)
    """Seconds from each lost socket to the ``welcome`` on the new one."""


class SignalingChannel:
    """The participant's WebSocket to its room, reopened after a drop until the owner says stop.

    ``clock`` (seconds, monotonic) times reconnects; ``problems`` is the participant's list of
    problems, to which the channel adds unreadable frames. Background loops run through ``spawn``.
    """

    def __init__(
        self,
        join_url: JoinUrl,
        *,
        clock: Callable[[], float],
        backoff: Backoff,
        open_timeout_s: float,
        close_timeout_s: float,
        spawn: Spawn,
        problems: list[str],
        on_frame: Callable[[ServerMessage], Awaitable[None]],
        on_lost: Callable[[bool], bool],
        rejoining: Callable[[], bool],
        on_ended: Callable[[], None],
    ) -> None:
        self._join_url = join_url
        self._clock = clock
        self._backoff = backoff
        self._open_timeout_s = open_timeout_s
        self._close_timeout_s = close_timeout_s
        self._spawn = spawn
        self._problems = problems
        self._on_frame = on_frame
        self._on_lost = on_lost
        """Told whether the socket could be resumed (no final close code); answers whether to reconnect."""
        self._rejoining = rejoining
        """Called when a new socket is open, just before ``join``; answers whether to ask to resume."""
        self._on_ended = on_ended
        self._ws: ClientConnection | None = None
        self._lost_at: float | None = None
        self.record = SignalingRecord()

    @property
    def has_socket(self) -> bool:
        """A socket was opened (it may have ended since)."""
        return self._ws is not None

    async def open(self) -> None:
        """Open the socket, send ``join`` and read frames in the background; raises :data:`OPEN_ERRORS`."""
        self._ws = await self._connect()
        await self.send(Join(token=self._join_url.token))
        self._spawn(self._read_frames(self._ws), "duet-signaling-reader")

    async def send(self, message: ClientFrame) -> None:
        """Send one frame on the current socket; raises ``ConnectionClosed`` if it has ended."""
        if self._ws is None:
            raise ParticipantStateError(f"sending {message.type!r} needs an open signaling socket, got none")
        await self._ws.send(dump_message(message))

    def keep_alive(self, interval_s: float) -> None:
        """A ``ping`` every ``interval_s`` seconds (``welcome.pingIntervalS``) on the current socket."""
        self._spawn(self._send_pings(interval_s), "duet-signaling-ping")

    def rejoined(self) -> None:
        """The ``welcome`` on a reopened socket came: note how long signaling was away, reset the backoff."""
        self._backoff.reset()
        if self._lost_at is not None:
            self.record.reconnect_times.append(self._clock() - self._lost_at)
            self._lost_at = None

    def abort(self) -> None:
        """Cut the socket with no closing handshake, as a network drop would."""
        if self._ws is not None:
            self._ws.transport.abort()

    async def close(self) -> None:
        """Close the current socket (the owner has cancelled the background tasks first)."""
        if self._ws is not None:
            await self._ws.close()
            self._note_close(self._ws)

    def closed_error(self, what: str) -> SignalingClosedError:
        """The error for a wait on ``what`` that signaling's end cut short: close code and last error."""
        error = self.record.last_error
        return SignalingClosedError(
            what,
            close_code=self.record.close_code,
            error_code=error.code if error else None,
            error_message=error.message if error else None,
        )

    # --- background ------------------------------------------------------------

    async def _connect(self) -> ClientConnection:
        return await connect(
            self._join_url.websocket_url,
            proxy=None,
            max_size=MAX_SERVER_FRAME_BYTES,
            open_timeout=self._open_timeout_s,
            close_timeout=self._close_timeout_s,
        )

    async def _read_frames(self, ws: ClientConnection) -> None:
        try:
            async for raw in ws:
                try:
                    message = parse_server_message(raw)
                except ProtocolError as exc:
                    self.record.frames["invalid"] += 1
                    self._problems.append(f"unreadable frame from the server: {exc.message}")
                    continue
                self.record.frames[message.type] += 1
                if isinstance(message, Error):
                    self._note_error(message)
                await self._on_frame(message)
        except ConnectionClosed:
            pass
        finally:
            received = ws.protocol.close_rcvd
            if self._on_lost(received is None or received.code not in FINAL_CLOSE_CODES):
                self._lost_at = self._clock()
                _log.info("signaling socket lost; reconnecting")
                self._spawn(self._reconnect_forever(), "duet-signaling-reconnect")
            else:
                self._note_close(ws)
                self._on_ended()

    async def _reconnect_forever(self) -> None:
        """Open a new socket with backoff and join again with the same token, asking to resume."""
        while True:  # ends when the owner cancels it, or with a socket that joined
            await asyncio.sleep(self._backoff.next_delay())  # the backoff timer, not synchronisation
            try:
                ws = await self._connect()
            except _REOPEN_ERRORS as exc:
                _log.info("reconnect attempt %d failed: %r", self._backoff.attempts, exc)
                continue
            self._ws = ws
            try:
                await self.send(Join(token=self._join_url.token, resume=self._rejoining()))
            except ConnectionClosed:
                continue
            self._spawn(self._read_frames(ws), "duet-signaling-reader")
            return

    async def _send_pings(self, interval_s: float) -> None:
        sequence = 0
        while True:
            await asyncio.sleep(interval_s)  # a timer, not synchronisation
            sequence += 1
            try:
                await self.send(Ping(id=sequence))
            except ConnectionClosed:
                continue  # reconnecting, or about to be closed

    def _note_error(self, error: Error) -> None:
        self.record.last_error = SignalingErrorInfo(code=error.code.value, message=error.message)
        _log.info("server error %s: %s", error.code.value, error.message)

    def _note_close(self, ws: ClientConnection) -> None:
        received = ws.protocol.close_rcvd
        if received is None or self.record.close_code is not None:
            return
        self.record.close_code, self.record.close_reason = received.code, received.reason or None
        self.record.closed_by_server = bool(ws.protocol.close_rcvd_then_sent)
