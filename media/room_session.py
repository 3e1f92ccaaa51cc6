"""A headless participant's membership of its room: the phase, the ``welcome``, and what changes them.

:class:`RoomSession` is the one place where :class:`~media.participant_phase.ParticipantPhase`
changes: the participant's ``start()`` and ``close()``, and the events of the signaling socket it
owns (:class:`~media.signaling_channel.SignalingChannel`): a server frame (``welcome`` above all),
a lost socket, a new socket joining again, the end of signaling. Every other frame goes to the
:class:`~media.call_driver.CallDriver`, under one lock that also serialises the recovery of a
failed peer connection, and then wakes whoever waits for it (:class:`~media.signaling_waits.SignalingWaits`).

::

    new              ── start() ───────────────────────────────────▶ joining
    joining          ── welcome ───────────────────────────────────▶ joined
    joining, joined  ── socket lost after a welcome, not a final code ▶ reconnecting
    reconnecting     ── a new socket is open ──────────────────────▶ joining
    joining, joined  ── socket ended for good ─────────────────────▶ disconnected
    any              ── close() ───────────────────────────────────▶ closed
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from media.backoff import Backoff
from media.call_driver import CallDriver
from media.join_url import JoinUrl
from media.participant_phase import ParticipantPhase, ParticipantStateError
from media.signaling_channel import SignalingChannel
from media.signaling_waits import SignalingWaits
from signaling.messages import IceServersUpdate, ServerMessage, Welcome

__all__ = ["RoomSession"]

_log = logging.getLogger(__name__)

_IN_ROOM = (ParticipantPhase.JOINING, ParticipantPhase.JOINED)


class RoomSession:
    """The participant's phase and ``welcome``, driven by its signaling socket's events.

    ``clock`` is seconds, monotonic; ``reconnect`` says whether a dropped socket is reopened;
    ``spawn`` runs a background task the participant cancels on ``close()``; problems are
    appended to ``problems``. The socket options go to the :class:`SignalingChannel`.
    """

    def __init__(
        self,
        join_url: JoinUrl,
        *,
        call: CallDriver,
        clock: Callable[[], float],
        reconnect: bool,
        backoff: Backoff,
        open_timeout_s: float,
        close_timeout_s: float,
        spawn: Callable[[Coroutine[Any, Any, None], str], None],
        problems: list[str],
    ) -> None:
        self._call = call
        self._clock = clock
        self._reconnect = reconnect
        self._spawn = spawn
        self._problems = problems
        self._phase = ParticipantPhase.NEW
        self._welcome: Welcome | None = None
        self.welcome_at: float | None = None
        """Clock reading when the first ``welcome`` came."""
        self._closing = False
        self._negotiation = asyncio.Lock()
        """Serialises the call driver: frames from the reader, and recovery after a failure."""
        self.joined = asyncio.Event()
        """Set by the first ``welcome``."""
        self.signaling_done = asyncio.Event()
        """Set when the signaling socket has ended for good (or ``close()`` ran)."""
        self.channel = SignalingChannel(
            join_url,
            clock=clock,
            backoff=backoff,
            open_timeout_s=open_timeout_s,
            close_timeout_s=close_timeout_s,
            spawn=spawn,
            problems=problems,
            on_frame=self._on_frame,
            on_lost=self._on_socket_lost,
            rejoining=self._on_rejoining,
            on_ended=self._on_signaling_ended,
        )
        self.waits = SignalingWaits(self.signaling_done, self.channel.closed_error)

    @property
    def phase(self) -> ParticipantPhase:
        return self._phase

    @property
    def welcome(self) -> Welcome | None:
        """The latest ``welcome``, with the freshest ICE servers; ``None`` before the first."""
        return self._welcome

    @property
    def closing(self) -> bool:
        """``close()`` has begun: nothing is reconnected or recovered any more."""
        return self._closing

    @property
    def in_room(self) -> bool:
        """Joining or joined: a ``bye`` makes sense."""
        return self._phase in _IN_ROOM

    def begin(self) -> None:
        """``start()``: from ``new`` to ``joining`` (the caller then opens the channel)."""
        if self._phase is not ParticipantPhase.NEW:
            raise ParticipantStateError(f"start() expects phase 'new', got {self._phase.value!r}")
        self._phase = ParticipantPhase.JOINING

    def expect_joined(self, what: str) -> None:
        """Raise :class:`ParticipantStateError` unless joined; ``what`` names the call (``set_mode()``)."""
        if self._phase is not ParticipantPhase.JOINED:
            raise ParticipantStateError(f"{what} expects phase 'joined', got {self._phase.value!r}")

    def begin_close(self) -> None:
        """``close()`` begins (its phase stays until :meth:`closed`)."""
        self._closing = True

    def closed(self) -> None:
        """``close()`` has released everything: signaling is done, the phase is ``closed``."""
        self.signaling_done.set()
        self._phase = ParticipantPhase.CLOSED

    def peer_connection_failed(self) -> None:
        """The negotiator's ``on_failed``: try to recover in the background, unless closing."""
        if not self._closing:
            self._spawn(self._recover(), "duet-peer-recovery")

    # --- the channel's events ----------------------------------------------------

    async def _on_frame(self, message: ServerMessage) -> None:
        """Every server frame, in arrival order: handle it, then wake whoever waits for one like it."""
        try:
            async with self._negotiation:
                await self._handle(message)
        except Exception as exc:  # one bad negotiation step must not end the session
            _log.warning("handling %s failed", message.type, exc_info=True)
            self._problems.append(f"handling {message.type!r} failed: {exc!r}")
        self.waits.arrived(message)

    def _on_socket_lost(self, resumable: bool) -> bool:
        """The socket ended: after a ``welcome``, one without a final close code is reconnected."""
        if not (
            self._reconnect
            and not self._closing
            and self._welcome is not None
            and self._phase in _IN_ROOM
            and resumable
        ):
            return False
        self._phase = ParticipantPhase.RECONNECTING
        return True

    def _on_rejoining(self) -> bool:
        """A new socket is open: join again, resuming only with a peer connection worth keeping."""
        self._phase = ParticipantPhase.JOINING
        return self._call.resumable  # the welcome says what the room kept

    def _on_signaling_ended(self) -> None:
        if self._phase in _IN_ROOM:
            self._phase = ParticipantPhase.DISCONNECTED
        self.signaling_done.set()

    async def _handle(self, message: ServerMessage) -> None:
        match message:
            case Welcome():
                await self._on_welcome(message)
            case IceServersUpdate() if self._welcome is not None:
                # Fresh TURN credentials: the running connection keeps its relay; the next one uses these.
                self._welcome = self._welcome.model_copy(update={"ice_servers": message.ice_servers})
                self._call.configure(self._welcome)
            case _:
                await self._call.handle(message)

    async def _on_welcome(self, welcome: Welcome) -> None:
        if self._welcome is not None and self._phase is ParticipantPhase.JOINING:
            await self._on_welcome_back(welcome)
            return
        if self._phase is not ParticipantPhase.JOINING:
            raise ParticipantStateError(
                f"expected welcome while {ParticipantPhase.JOINING.value}, got it while {self._phase.value}"
            )
        self._call.configure(welcome)
        self._welcome, self.welcome_at = welcome, self._clock()
        self._phase = ParticipantPhase.JOINED
        self.joined.set()
        self.channel.keep_alive(welcome.ping_interval_s)
        self._spawn(self._call.report_stats(welcome.stats_interval_s), "duet-stats-report")
        await self._call.joined(welcome)

    async def _on_welcome_back(self, welcome: Welcome) -> None:
        """Joined again after a reconnect: the call driver keeps or restarts the peer connection."""
        self._call.configure(welcome)
        self._welcome, self._phase = welcome, ParticipantPhase.JOINED
        self.channel.rejoined()
        await self._call.rejoined(welcome)

    async def _recover(self) -> None:
        """The peer connection failed: maybe offer a fresh one (see :meth:`CallDriver.recover`)."""
        async with self._negotiation:
            welcome = self._welcome
            if welcome is None or self._phase is not ParticipantPhase.JOINED:
                return  # without signaling, the rejoin's welcome decides
            try:
                await self._call.recover(polite=welcome.polite)
            except Exception as exc:
                self._problems.append(f"recovering a failed peer connection failed: {exc!r}")
