"""Reads a participant's peer connection into ``stats`` frames: the aiortc edge of :mod:`media.stats_report`.

One reporter per participant; it keeps what a report needs from the previous one (the frame
count for ``framesPerSecond``, the byte estimates) and starts again with every new peer connection,
as webrtc-stats counters do.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from aiortc import RTCPeerConnection

from media.peer_session import PeerSession
from media.stats_report import OwnCounters, ReceivedBytes, build_stats, rtx_ssrcs
from signaling.stats import Stats

__all__ = ["StatsReporter"]


class StatsReporter:
    """Makes the ``stats`` frame of the current :class:`PeerSession`; ``clock`` in seconds, monotonic."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._session: PeerSession | None = None
        self._bytes = ReceivedBytes()
        self._last: tuple[float, int] | None = None
        self.reports = 0
        """Reports made, over every peer connection."""

    async def report(self, session: PeerSession) -> Stats:
        """Read ``session``'s getStats and counters now."""
        if session is not self._session:
            self._session, self._bytes, self._last = session, ReceivedBytes(), None
        pc = session.pc
        entries: list[Any] = [*(await pc.getStats()).values(), *_receiver_streams(pc)]
        remote = pc.remoteDescription
        rtx = rtx_ssrcs(remote.sdp if remote is not None else None)
        estimates = self._bytes.update(entries, rtx)
        now, inbound, camera = self._clock(), session.inbound, session.camera
        fps = None
        if self._last is not None and now > self._last[0]:
            fps = max(0.0, (inbound.video_frames - self._last[1]) / (now - self._last[0]))
        self._last = (now, inbound.video_frames)
        own = OwnCounters(
            frames_decoded=inbound.video_frames,
            frames_per_second=fps,
            freeze_count=inbound.freezes.count,
            total_freezes_duration=inbound.freezes.total_s,
            total_samples_received=inbound.total_samples_received,
            frames_sent=camera.frames_sent if camera is not None else None,
            sending_video=camera is not None and camera.camera_on,
        )
        self.reports += 1
        return build_stats(
            entries,
            own,
            rtx=rtx,
            bytes_received=estimates,
            ice_state=pc.iceConnectionState,
            connection_state=pc.connectionState,
        )


def _receiver_streams(pc: RTCPeerConnection) -> list[dict[str, Any]]:
    """One inbound-rtp entry per remote SSRC of every receiver.

    aiortc's getStats gives each receiver one inbound-rtp id, so a video's RTX stream overwrites the
    video's own counters there once the first retransmission arrived. The per-SSRC counters exist
    only inside the receiver (aiortc 1.9-1.16: ``RTCRtpReceiver.__remote_streams``, a dict of
    ``StreamStatistics``); where a later aiortc has moved them, this returns nothing and getStats'
    own entries are used.
    """
    entries: list[dict[str, Any]] = []
    for receiver in pc.getReceivers():
        streams = getattr(receiver, "_RTCRtpReceiver__remote_streams", None)
        track = receiver.track
        if not isinstance(streams, dict) or track is None:
            continue
        for ssrc, stream in streams.items():
            try:
                entries.append(
                    {
                        "type": "inbound-rtp",
                        "kind": track.kind,
                        "ssrc": ssrc,
                        "packetsReceived": int(stream.packets_received),
                        "packetsLost": int(stream.packets_lost),
                        "jitter": int(stream.jitter),
                        "clockRate": int(getattr(stream, "_clockrate", 0)) or None,
                    }
                )
            except (AttributeError, TypeError, ValueError):
                return []  # not the shape this was written for: rely on getStats alone
    return entries
