"""One peer connection of a headless participant, with the tracks it sends and the readers it runs.

The participant starts a fresh session for every negotiation from scratch (the
other side joined, came back, or a polite restart after glare) and closes the
old one first. Closing a session releases everything it started.

The source's tracks are sent through a :class:`~media.local_tracks.CameraTrack`
and a :class:`~media.local_tracks.MicrophoneTrack`, so the call mode can turn the
camera off and on (and mute the microphone) without touching the SDP.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from aiortc import RTCConfiguration, RTCIceCandidate, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamTrack

from media.local_tracks import CameraTrack, MicrophoneTrack
from media.received import InboundCounters, ReceivedMedia

__all__ = ["PeerSession"]


class PeerSession:
    """An ``RTCPeerConnection`` sending ``tracks``; remote tracks are read into ``received``.

    ``on_state(session, state)`` is called with every ``connectionState`` change.
    Remote candidates that arrive before the remote description are held back and
    added right after it (aiortc drops them otherwise). With ``camera_on=False`` the
    source's video track is stopped at once and the camera starts off (a call that is
    already audio-only); ``inbound`` counts what this connection received.
    """

    def __init__(
        self,
        configuration: RTCConfiguration,
        tracks: list[MediaStreamTrack],
        received: ReceivedMedia,
        on_state: Callable[[PeerSession, str], None],
        *,
        camera_on: bool = True,
    ) -> None:
        self.camera: CameraTrack | None = None
        """The sent video (``None`` when the source has no video)."""
        self.microphone: MicrophoneTrack | None = None
        """The sent audio (``None`` when the source has no audio)."""
        self.tracks: list[MediaStreamTrack] = []
        for track in tracks:
            if track.kind == "video" and self.camera is None:
                if not camera_on:
                    track.stop()
                self.camera = CameraTrack(track if camera_on else None)
                self.tracks.append(self.camera)
            elif track.kind == "audio" and self.microphone is None:
                self.microphone = MicrophoneTrack(track)
                self.tracks.append(self.microphone)
            else:
                self.tracks.append(track)
        self.inbound = InboundCounters()
        self.pc = RTCPeerConnection(configuration)
        self._received = received
        self._on_state = on_state
        self._readers: set[asyncio.Task[None]] = set()
        self._early_candidates: list[RTCIceCandidate | None] = []
        self._closed = False
        self._closing: asyncio.Task[None] | None = None
        self.pc.on("connectionstatechange", self._state_changed)
        self.pc.on("track", self._track_arrived)
        for track in self.tracks:
            self.pc.addTrack(track)

    @property
    def signaling_state(self) -> str:
        return self.pc.signalingState

    @property
    def closed(self) -> bool:
        """True once :meth:`close` has begun."""
        return self._closed

    @property
    def has_remote_description(self) -> bool:
        return self.pc.remoteDescription is not None

    @property
    def remote_sdp(self) -> str | None:
        """The applied remote description's SDP, if any."""
        remote = self.pc.remoteDescription
        return remote.sdp if remote is not None else None

    async def create_offer(self) -> str:
        """Create and apply a local offer; its SDP holds every gathered candidate."""
        await self.pc.setLocalDescription(await self.pc.createOffer())
        return self.pc.localDescription.sdp

    async def accept_offer(self, sdp: str) -> str:
        """Apply a remote offer and return the SDP of the applied answer."""
        await self.set_remote(RTCSessionDescription(sdp=sdp, type="offer"))
        await self.pc.setLocalDescription(await self.pc.createAnswer())
        return self.pc.localDescription.sdp

    async def set_remote(self, description: RTCSessionDescription) -> None:
        """Apply a remote description, then any candidates that came before it."""
        await self.pc.setRemoteDescription(description)
        early, self._early_candidates = self._early_candidates, []
        for candidate in early:
            await self.pc.addIceCandidate(candidate)

    async def add_candidate(self, candidate: RTCIceCandidate | None) -> None:
        """Add a trickled remote candidate (``None``: end of candidates)."""
        if not self.has_remote_description:
            self._early_candidates.append(candidate)
            return
        await self.pc.addIceCandidate(candidate)

    async def close(self) -> None:
        """Close the peer connection, stop the local tracks, end the readers (idempotent).

        Cancelling a caller does not cancel the closing: it runs on in its own task, and a later
        ``close()`` waits for it. (aiortc closes a peer connection by itself when the other side's
        DTLS ends; a cancelled wait on that close would cancel aiortc's own future.)
        """
        self._closed = True
        if self._closing is None:
            self._closing = asyncio.create_task(self._close(), name="duet-peer-close")
        await asyncio.shield(self._closing)

    async def _close(self) -> None:
        try:
            await self.pc.close()
        finally:
            for track in self.tracks:
                track.stop()
            for reader in self._readers:
                reader.cancel()
            await asyncio.gather(*self._readers, return_exceptions=True)
            self._readers.clear()

    def _state_changed(self) -> None:
        self._on_state(self, self.pc.connectionState)

    def _track_arrived(self, track: MediaStreamTrack) -> None:
        if self._closed:
            return
        reader = self._received.consume(track, self.inbound)
        self._readers.add(reader)
        reader.add_done_callback(self._readers.discard)
