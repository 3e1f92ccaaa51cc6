"""A real aiortc client of a pre-call echo peer: offers synthetic audio and video, sees what comes back.

Shared by the echo worker's tests (``tests/media/test_echo_worker.py``) and the server side's
(``tests/app/test_echo_process.py``).
"""

from __future__ import annotations

import asyncio
import contextlib

from aiortc import RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from media.ice import rtc_configuration
from media.sources import SyntheticSource


class EchoClient:
    """One test's client; ``echoed`` is set at the first frame the echo peer sent back, ``ended`` when
    the peer connection closed or failed (a graceful close by the echo peer ends it at once)."""

    def __init__(self) -> None:
        self.pc = RTCPeerConnection(rtc_configuration([]))  # no ICE servers: loopback host candidates
        self.echoed = asyncio.Event()
        self.ended = asyncio.Event()
        self._readers: set[asyncio.Task[None]] = set()

        @self.pc.on("track")
        def on_track(track: MediaStreamTrack) -> None:
            self._readers.add(asyncio.create_task(self._read(track)))

        @self.pc.on("connectionstatechange")
        def on_state() -> None:
            if self.pc.connectionState in ("closed", "failed"):
                self.ended.set()

    async def offer(self) -> str:
        """A complete offer (all candidates in it) for audio and video."""
        for track in SyntheticSource().create_tracks():
            self.pc.addTrack(track)
        await self.pc.setLocalDescription(await self.pc.createOffer())
        return str(self.pc.localDescription.sdp)

    async def accept(self, answer_sdp: str) -> None:
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=answer_sdp, type="answer"))

    async def close(self) -> None:
        for reader in self._readers:
            reader.cancel()
        await self.pc.close()

    async def _read(self, track: MediaStreamTrack) -> None:
        with contextlib.suppress(MediaStreamError):
            await track.recv()
            self.echoed.set()
