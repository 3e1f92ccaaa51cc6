"""Offer/answer for a peer that cannot roll back: the protocol's "Who offers", on aiortc.

* the newcomer (``welcome`` with the peer present) makes a peer connection and waits;
* ``peer-joined``: close any old peer connection, make a fresh one and offer;
* ``offer``: answer it. On glare (our own offer outstanding) the impolite peer
  ignores the incoming offer; the polite peer, since aiortc has no rollback,
  drops its peer connection and answers with a fresh one;
* ``peer-left``: close the peer connection and wait.
* the peer connection went ``failed`` (aiortc has no ICE restart and no ``disconnected``):
  ``on_failed`` is called, and the participant has the impolite side offer from scratch.
* an offer whose ICE credentials differ from the current remote description's comes from a peer
  that started over: it is answered on a fresh peer connection.

It also holds what the call mode asks of the local media (camera on or off,
microphone muted), applies it to the current peer connection at once and to
every new one from its start: switching never renegotiates (see
:mod:`media.local_tracks`).

The negotiator sends through a callback and never touches the socket, so the
signaling edge stays in :mod:`media.signaling_channel` and :mod:`media.room_session`. Calls must
not overlap: the participant feeds it one frame at a time, in arrival order.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

from aiortc import RTCConfiguration, RTCSessionDescription

from media.errors import ParticipantError
from media.ice import candidate_from_wire
from media.peer_session import PeerSession
from media.received import ReceivedMedia
from media.sources import TrackSource
from signaling.messages import Answer, IceCandidate, Offer

__all__ = ["NegotiationStateError", "Negotiator"]

_log = logging.getLogger(__name__)


class NegotiationStateError(ParticipantError, RuntimeError):
    """Negotiation was asked to start before the ICE configuration was known."""


class Negotiator:
    """Keeps at most one :class:`PeerSession` and drives its offer/answer exchange.

    ``states`` lists every ``connectionState`` of every session in order (each
    session starts with ``"new"``); ``connected`` is set while the current session
    is connected; ``first_connected_at`` is the ``clock`` reading of the first time.
    """

    def __init__(
        self,
        *,
        source: TrackSource,
        received: ReceivedMedia,
        send: Callable[[Offer | Answer], Awaitable[None]],
        clock: Callable[[], float] = time.monotonic,
        on_failed: Callable[[], None] | None = None,
    ) -> None:
        self._source = source
        self._received = received
        self._send = send
        self._clock = clock
        self._on_failed = on_failed
        self._configuration: RTCConfiguration | None = None
        self._polite = False
        self._session: PeerSession | None = None
        self._ending: set[PeerSession] = set()
        self.sessions_created = 0
        self.states: list[str] = []
        self.connected = asyncio.Event()
        self.first_connected_at: float | None = None
        self._camera_on = True
        self._muted = False

    @property
    def session(self) -> PeerSession | None:
        return self._session

    @property
    def alive(self) -> bool:
        """The current peer connection is connecting or connected: worth keeping across a reconnect."""
        session = self._session
        return (
            session is not None
            and not session.closed
            and session.has_remote_description
            and session.pc.connectionState in ("connecting", "connected")
        )

    @property
    def sending_video(self) -> bool:
        """Whether the current peer connection's camera is on (``False`` without a connection)."""
        camera = self._session.camera if self._session else None
        return camera is not None and camera.camera_on

    def set_local_media(self, *, camera_on: bool, muted: bool) -> None:
        """Turn the camera on or off and mute or unmute the microphone, now and for later connections.

        Turning the camera back on gives it a fresh video track from the source.
        """
        self._camera_on, self._muted = camera_on, muted
        session = self._session
        if session is None:
            return
        if session.microphone is not None:
            session.microphone.muted = muted
        camera = session.camera
        if camera is None or camera.camera_on == camera_on:
            return
        if not camera_on:
            camera.switch_off()
            return
        track = self._source.create_video_track()
        if track is not None:
            camera.switch_on(track)

    def configure(self, configuration: RTCConfiguration, *, polite: bool) -> None:
        """Take the ICE configuration and the politeness from ``welcome``."""
        self._configuration = configuration
        self._polite = polite

    async def wait_for_offer(self) -> None:
        """We are the newcomer: make a peer connection and wait for the other side's offer."""
        await self._new_session()

    async def offer_from_scratch(self) -> None:
        """The other side (re)joined: a fresh peer connection, and our offer."""
        session = await self._new_session()
        await self._send(Offer(sdp=await session.create_offer()))

    async def on_offer(self, sdp: str) -> None:
        """Answer a remote offer: on the waiting or current connection, or a fresh one (see above)."""
        session = self._session
        if session is not None and session.signaling_state == "have-local-offer":
            if not self._polite:
                _log.info("glare: impolite, ignoring the incoming offer")
                return
            _log.info("glare: polite, answering with a fresh peer connection")
            session = None
        if (
            session is not None
            and session.has_remote_description
            and _ice_ufrag(sdp) != _ice_ufrag(session.remote_sdp)
        ):
            session = None  # the other side started over with a fresh peer connection
        if session is not None and session.has_remote_description and session.pc.connectionState != "failed":
            try:  # a renegotiation: try in place, start over if aiortc refuses
                answer = await session.accept_offer(sdp)
            except Exception as exc:
                _log.info("renegotiation refused (%r); answering with a fresh peer connection", exc)
            else:
                await self._send(Answer(sdp=answer))
                return
            session = None
        if session is None or session.pc.connectionState in ("failed", "closed"):
            session = await self._new_session()
        await self._send(Answer(sdp=await session.accept_offer(sdp)))

    async def on_answer(self, sdp: str) -> None:
        """Apply the answer to our outstanding offer; a stale answer is ignored."""
        session = self._session
        if session is None or session.signaling_state != "have-local-offer":
            _log.info("ignoring an answer with no offer of ours outstanding")
            return
        await session.set_remote(RTCSessionDescription(sdp=sdp, type="answer"))

    async def on_candidate(self, candidate: IceCandidate | None) -> None:
        """A trickled remote candidate (``None``: end of candidates); dropped if no session is open."""
        if self._session is None:
            return  # late, for a peer connection that is gone
        await self._session.add_candidate(None if candidate is None else candidate_from_wire(candidate))

    async def end_session(self) -> None:
        """Close the current peer connection, if any (the peer left, or a fresh one replaces it)."""
        session, self._session = self._session, None
        self.connected.clear()
        if session is not None:
            self._ending.add(session)
            await session.close()
            self._ending.discard(session)

    async def close(self) -> None:
        """Close the current peer connection and wait for any whose closing was interrupted."""
        await self.end_session()
        while self._ending:
            await self._ending.pop().close()

    async def _new_session(self) -> PeerSession:
        await self.end_session()
        if self._configuration is None:
            raise NegotiationStateError(
                "expected the ICE configuration from welcome before negotiating, got none"
            )
        self.states.append("new")
        self.sessions_created += 1
        tracks = self._source.create_tracks()
        try:
            session = PeerSession(
                self._configuration, tracks, self._received, self._state_changed, camera_on=self._camera_on
            )
            if session.microphone is not None:
                session.microphone.muted = self._muted
        except BaseException:
            for track in tracks:
                track.stop()
            raise
        self._session = session
        return session

    def _state_changed(self, session: PeerSession, state: str) -> None:
        self.states.append(state)
        if session is not self._session:
            return  # an old session closing
        if state == "connected":
            if self.first_connected_at is None:
                self.first_connected_at = self._clock()
            self.connected.set()
        else:
            self.connected.clear()
        if state == "failed" and self._on_failed is not None:
            self._on_failed()


def _ice_ufrag(sdp: str | None) -> str | None:
    """The first ``a=ice-ufrag`` of an SDP (``None`` without one): it changes when a peer starts over."""
    for line in (sdp or "").splitlines():
        if line.startswith("a=ice-ufrag:"):
            return line.removeprefix("a=ice-ufrag:").strip()
    return None
