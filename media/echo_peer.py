"""The server side of the pre-call test: a WebRTC peer that sends back what it receives.

A browser (or ``duet check``) offers audio and video; the echo peer answers, relays each received
track straight back (:class:`aiortc.contrib.media.MediaRelay`) and closes itself after a hard time
limit, so a test nobody ends still ends. :class:`EchoPeers` caps how many run at once. They run in
the echo worker process (``media/echo_worker.py``), never on the server's own event loop.

Non-trickle: the offer carries all of the client's candidates, and aiortc writes all of its own
into the answer. The candidates the server must not contact (loopback, private, metadata...) are
taken out before aiortc reads the offer (:mod:`media.remote_candidates`).

The echo peer declines the ``abs-send-time`` RTP header extension, so aiortc's receive-side,
delay-based bandwidth estimate (REMB) never runs: it times packets on the event loop that runs the
peer, where that process's own load (decoding and re-encoding the echo) reads as a congested network and
holds a browser's sending bitrate near 70 kbit/s on a loopback link. Without it the browser's
loss-based controller sets the rate, and a test measures the path rather than the server.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterator, Sequence

from aiortc import RTCPeerConnection, RTCSessionDescription
from aiortc.contrib.media import MediaRelay
from aiortc.mediastreams import MediaStreamTrack
from aiortc.sdp import SessionDescription

from media.errors import ParticipantError
from media.ice import rtc_configuration
from media.remote_candidates import safe_offer
from signaling.messages import IceServer

__all__ = ["EchoPeer", "EchoPeers", "EchoPeersBusy", "check_offer", "without_abs_send_time"]

_log = logging.getLogger(__name__)

_ABS_SEND_TIME = "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time"
"""The RTP header extension aiortc's REMB estimator needs (draft-alvestrand-rmcat-remb)."""


def without_abs_send_time(sdp: str) -> str:
    """``sdp`` without its ``a=extmap`` lines for ``abs-send-time`` (line endings kept as CRLF)."""
    lines = [
        line for line in sdp.splitlines() if not (line.startswith("a=extmap:") and _ABS_SEND_TIME in line)
    ]
    return "\r\n".join(lines) + "\r\n"


def check_offer(sdp: str) -> None:
    """Raise :class:`ValueError` for an offer the echo peer must not be given: one aiortc's SDP parser
    cannot read, one with no audio or video to echo, or with a media section lacking a DTLS
    fingerprint or role (``a=fingerprint``, ``a=setup``). aiortc accepts an offer without a
    fingerprint, answers it, and then fails in a task nobody awaits (an ``AssertionError`` in
    ``RTCDtlsTransport.start``, "Task exception was never retrieved"); without ``a=setup`` it raises
    an ``AttributeError``."""
    try:
        description = SessionDescription.parse(sdp)
    except Exception as exc:  # the parser asserts, indexes and looks keys up on untrusted text
        raise ValueError(f"the offer's SDP cannot be read ({type(exc).__name__})") from None
    if not any(media.kind in ("audio", "video") for media in description.media):
        kinds = ", ".join(f"m={media.kind}" for media in description.media) or "no media section"
        raise ValueError(f"the offer has no audio or video to echo (got {kinds})")
    for media in description.media:
        if media.dtls is None or not media.dtls.fingerprints:
            raise ValueError(
                f"the offer's m={media.kind} section has no DTLS fingerprint and role "
                "(a=fingerprint, a=setup)"
            )


class EchoPeersBusy(ParticipantError):
    """As many echo peers as allowed are running already."""


class EchoPeer:
    """One pre-call test's peer connection; :meth:`answer` once, then it runs until ``max_s`` or closed."""

    def __init__(
        self,
        ice_servers: Sequence[IceServer],
        *,
        max_s: float,
        allow_private_candidates: bool = False,
        on_closed: Callable[[EchoPeer], None] | None = None,
    ) -> None:
        self.max_s = max_s
        """Hard limit on the test's length, in seconds from :meth:`answer`."""
        self.allow_private_candidates = allow_private_candidates
        """Whether the client's loopback, link-local, private and CGNAT candidates are contacted."""
        self._on_closed = on_closed
        # An explicit list, possibly empty: given none, aiortc would contact a public STUN server.
        self.pc = RTCPeerConnection(rtc_configuration(ice_servers))
        self._relay = MediaRelay()
        self._timer: asyncio.Task[None] | None = None
        self.closed = asyncio.Event()

        @self.pc.on("track")
        def on_track(track: MediaStreamTrack) -> None:
            self.pc.addTrack(self._relay.subscribe(track))

        @self.pc.on("connectionstatechange")
        async def on_state() -> None:
            if self.pc.connectionState in ("failed", "closed"):
                await self.close()

    async def answer(self, offer_sdp: str) -> str:
        """The answer SDP (with all candidates) to a complete offer, whose candidates at addresses the
        server must not contact are dropped first; starts the time limit."""
        if self._timer is not None:
            raise RuntimeError("answer() expects a new echo peer, got one that already answered")
        self._timer = asyncio.create_task(self._expire(), name="duet-echo-expire")
        try:
            check_offer(offer_sdp)
            safe = safe_offer(without_abs_send_time(offer_sdp), allow_private=self.allow_private_candidates)
            if safe.dropped:
                _log.info("pre-call echo: dropped the offer's candidates at %s", ", ".join(safe.dropped))
            offer = RTCSessionDescription(sdp=safe.sdp, type="offer")
            await self.pc.setRemoteDescription(offer)
            await self.pc.setLocalDescription(await self.pc.createAnswer())
        except BaseException:
            await self.close()
            raise
        return self.pc.localDescription.sdp

    async def close(self) -> None:
        if self.closed.is_set():
            return
        self.closed.set()
        if self._on_closed is not None:
            self._on_closed(self)
        if self._timer is not None and self._timer is not asyncio.current_task():
            self._timer.cancel()
        await self.pc.close()

    async def _expire(self) -> None:
        await asyncio.sleep(self.max_s)  # the hard limit, not synchronisation
        _log.info("pre-call echo reached its %.0f s limit", self.max_s)
        await self.close()


class EchoPeers:
    """The running echo peers: at most ``max_concurrent``, each closed after ``max_s`` seconds;
    ``allow_private_candidates`` as :class:`EchoPeer`'s."""

    def __init__(self, *, max_concurrent: int, max_s: float, allow_private_candidates: bool = False) -> None:
        self.max_concurrent = max_concurrent
        self.max_s = max_s
        self.allow_private_candidates = allow_private_candidates
        self._peers: set[EchoPeer] = set()

    def __len__(self) -> int:
        return len(self._peers)

    def __iter__(self) -> Iterator[EchoPeer]:
        return iter(list(self._peers))

    async def answer(self, offer_sdp: str, ice_servers: Sequence[IceServer]) -> str:
        """Start an echo peer for ``offer_sdp``: its answer SDP (see :meth:`start`)."""
        _, answer_sdp = await self.start(offer_sdp, ice_servers)
        return answer_sdp

    async def start(self, offer_sdp: str, ice_servers: Sequence[IceServer]) -> tuple[EchoPeer, str]:
        """Start an echo peer for ``offer_sdp``: the peer and its answer SDP; raise
        :class:`EchoPeersBusy` when the cap is reached."""
        if len(self._peers) >= self.max_concurrent:
            raise EchoPeersBusy(
                f"{len(self._peers)} connection tests are running; at most {self.max_concurrent} at once"
            )
        peer = EchoPeer(
            ice_servers,
            max_s=self.max_s,
            allow_private_candidates=self.allow_private_candidates,
            on_closed=self._peers.discard,
        )
        self._peers.add(peer)
        return peer, await peer.answer(offer_sdp)

    async def close(self) -> None:
        for peer in list(self._peers):
            with contextlib.suppress(Exception):
                await peer.close()
        self._peers.clear()
