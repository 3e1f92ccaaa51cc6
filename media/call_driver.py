"""What the room's frames mean for a headless participant's peer connection and local media.

A :class:`CallDriver` turns the server's frames into calls on the :class:`~media.negotiator.Negotiator`
(the protocol's "Who offers": ``peer-joined``, ``peer-back``, ``peer-left``, ``offer``, ``answer``,
``candidate``), keeps whether the other participant is in the room, follows the call mode
(:class:`~media.call_mode.ModeFollower`: the camera off in ``audio-only`` and ``phone``, the
microphone muted in ``phone``), answers ``suggest`` frames, decides whether to offer a fresh peer
connection after a failure, and sends a ``stats`` report every ``welcome.statsIntervalS`` seconds.

It knows nothing of the socket or the participant's phase: frames come in one at a time, in arrival
order, and never overlap with :meth:`CallDriver.recover` (the participant holds one lock around both).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from websockets.exceptions import ConnectionClosed

from media.call_mode import ModeFollower, SuggestAnswer, local_media
from media.ice import rtc_configuration
from media.negotiator import Negotiator
from media.stats_reporter import StatsReporter
from signaling.messages import (
    Answer,
    Candidate,
    Decide,
    ModeChanged,
    Offer,
    PeerBack,
    PeerJoined,
    PeerLeft,
    PeerReconnecting,
    Quality,
    ServerMessage,
    Suggest,
    Welcome,
    Withdraw,
)
from signaling.stats import CallMode, Stats

__all__ = ["CallDriver"]

_log = logging.getLogger(__name__)


class CallDriver:
    """Drives one participant's negotiator, mode and stats from the room's frames.

    ``send`` sends a frame on the signaling socket (raising ``ConnectionClosed`` while it is
    down); ``since_start`` is seconds since the participant started, for the fallback timeline.
    """

    def __init__(
        self,
        *,
        negotiator: Negotiator,
        reporter: StatsReporter,
        on_suggest: SuggestAnswer,
        relay_only: bool,
        send: Callable[[Decide | Stats], Awaitable[None]],
        since_start: Callable[[], float],
    ) -> None:
        self._negotiator = negotiator
        self._reporter = reporter
        self.follower = ModeFollower(on_suggest)
        """The call's mode, the latest ``quality`` and the fallback timeline (read it, do not feed it)."""
        self._relay_only = relay_only
        self._send = send
        self._since_start = since_start
        self._peer_here = False
        """The other participant is connected to the room (as the latest frame said)."""
        self.last_stats: Stats | None = None
        """The latest ``stats`` report sent."""

    @property
    def resumable(self) -> bool:
        """The peer connection is connecting or connected: worth keeping across a signaling reconnect."""
        return self._negotiator.alive

    def configure(self, welcome: Welcome) -> None:
        """Take ``welcome``'s ICE servers (or fresher ones) and politeness for the next peer connection."""
        self._negotiator.configure(
            rtc_configuration(welcome.ice_servers, relay_only=self._relay_only), polite=welcome.polite
        )

    async def joined(self, welcome: Welcome) -> None:
        """The first ``welcome``: take its mode; if the peer is already there, it offers: wait."""
        self.follower.welcome(welcome.mode)
        self._follow_mode(None)
        self._peer_here = welcome.peer.present
        if welcome.peer.present:
            await self._negotiator.wait_for_offer()  # the one already there offers

    async def rejoined(self, welcome: Welcome) -> None:
        """Joined again after a reconnect: keep the peer connection if the room resumed the pairing."""
        previous = self.follower.mode
        self.follower.welcome(welcome.mode)
        self._follow_mode(previous)
        self._peer_here = welcome.peer.present
        if welcome.resumed:
            if welcome.peer.present and not self._negotiator.alive:
                await self._negotiator.offer_from_scratch()  # ours died while we were away
            return
        await self._negotiator.end_session()  # the room started over: so do we
        if welcome.peer.present:
            await self._negotiator.wait_for_offer()

    async def handle(self, message: ServerMessage) -> None:
        """One frame after ``welcome`` (``welcome`` and ``ice-servers`` are the participant's)."""
        match message:
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
                previous = self.follower.mode
                reply = self.follower.observe(message, self._since_start())
                self._follow_mode(previous)
                if reply is not None:
                    await self._send(reply)
            case _:  # pong, bye, error: counted by the signaling channel, nothing to do
                pass

    async def recover(self, *, polite: bool) -> None:
        """The peer connection failed: the impolite side offers a fresh one (the polite side answers)."""
        if polite or not self._peer_here or self._negotiator.alive:
            return  # the polite side waits
        _log.info("peer connection failed; offering a fresh one")
        await self._negotiator.offer_from_scratch()

    async def report_stats(self, interval_s: float) -> None:
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
            self.last_stats = stats

    def _follow_mode(self, previous: CallMode | None) -> None:
        """Apply the call's mode to the local media, if it changed from ``previous``."""
        mode = self.follower.mode
        if mode is None or mode is previous:
            return
        camera_on, muted = local_media(mode)
        self._negotiator.set_local_media(camera_on=camera_on, muted=muted)
        session = self._negotiator.session
        if session is not None and previous is not None and (previous is CallMode.VIDEO) != camera_on:
            session.inbound.freezes.pause()  # the other's video stops or restarts on purpose: no freeze
