"""aiortc's getStats, plus what the participant counts itself, as the protocol's ``stats`` frame. Pure.

aiortc's stats are few and differ from the webrtc-stats spec in units (see ``docs/protocol.md``,
"Stats reports"); this module converts them:

* inbound-rtp ``jitter`` is in RTP clock units: divided by the codec's clock rate to get seconds;
* remote-inbound-rtp ``fractionLost`` is the raw RTCP byte (0-255): divided by 256 (RFC 3550 §6.4.1);
* a received video and its retransmission (RTX) stream share one inbound-rtp id, so aiortc's report
  may hold the RTX stream's counters instead of the video's: RTX streams (named in the remote SDP's
  ``a=ssrc-group:FID``) are skipped, and of several streams of one kind the one with the most packets
  wins (an RTX stream carries only the retransmitted few);
* inbound-rtp has no ``bytesReceived``: :class:`ReceivedBytes` estimates it as packets received
  times the sender's mean payload size (from its RTCP sender reports, remote-outbound-rtp), or the
  transport's mean packet size before the first sender report;
* frame, freeze and sample counters do not exist at all: the participant counts them
  (:class:`OwnCounters`).

Stats entries are aiortc's stats dataclasses or plain dicts with the same (camelCase) names; an entry
may carry ``clockRate`` (Hz) for its stream.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from media.received import MediaKind
from signaling.stats import ByKind, InboundRtp, OutboundRtp, RemoteInboundRtp, Stats

__all__ = [
    "CLOCK_RATES",
    "OwnCounters",
    "ReceivedBytes",
    "build_stats",
    "inbound_entry",
    "jitter_seconds",
    "mean_payload_bytes",
    "rtx_ssrcs",
]

CLOCK_RATES: dict[MediaKind, int] = {"audio": 48_000, "video": 90_000}
"""RTP clock rate (Hz) when a stream does not say: Opus always uses 48 kHz (RFC 7587 §4.1), VP8 and
every other video payload format 90 kHz (RFC 7741 §4.1)."""

FRACTION_LOST_SCALE = 256
"""RTCP's ``fraction lost`` is a fixed-point number with the binary point at the left edge of 8 bits
(RFC 3550 §6.4.1): the byte divided by 256 is the fraction."""

KINDS: tuple[MediaKind, MediaKind] = ("audio", "video")

_FID = re.compile(r"^a=ssrc-group:FID((?: \d+)+)\s*$", re.MULTILINE)

Entry = Mapping[str, Any] | object
"""One stats object: an aiortc ``RTCStats`` dataclass or a dict with the same field names."""


@dataclass(frozen=True, slots=True)
class OwnCounters:
    """What the participant counts itself, for the fields aiortc's getStats lacks (``None``: unknown)."""

    frames_decoded: int | None = None
    """Video frames received and decoded on this peer connection."""
    frames_per_second: float | None = None
    """Video frames decoded per second over the last report interval."""
    freeze_count: int | None = None
    total_freezes_duration: float | None = None
    """Seconds."""
    total_samples_received: int | None = None
    """Audio samples decoded, per channel."""
    frames_sent: int | None = None
    """Video frames our camera track handed to the encoder on this peer connection."""
    sending_video: bool | None = None
    """Whether our camera is on."""


def _get(entry: Entry, name: str) -> Any:
    if isinstance(entry, Mapping):
        return entry.get(name)
    return getattr(entry, name, None)


def _of(entries: Iterable[Entry], type_: str, kind: MediaKind) -> list[Entry]:
    return [e for e in entries if _get(e, "type") == type_ and _get(e, "kind") == kind]


def rtx_ssrcs(sdp: str | None) -> frozenset[int]:
    """The SSRCs of retransmission streams in an SDP: every SSRC after the first of an ``FID`` group."""
    if not sdp:
        return frozenset()
    return frozenset(int(ssrc) for match in _FID.finditer(sdp) for ssrc in match.group(1).split()[1:])


def inbound_entry(
    entries: Iterable[Entry], kind: MediaKind, rtx: frozenset[int] = frozenset()
) -> Entry | None:
    """The inbound-rtp entry of the real ``kind`` stream: not RTX; of several, the one with most packets."""
    candidates = [e for e in _of(entries, "inbound-rtp", kind) if _get(e, "ssrc") not in rtx]
    if not candidates:
        return None
    return max(candidates, key=lambda e: _get(e, "packetsReceived") or 0)


def jitter_seconds(jitter: float | None, clock_rate: int | None) -> float | None:
    """Interarrival jitter in RTP clock units (RFC 3550 §6.4.1) to seconds."""
    if jitter is None or not clock_rate or clock_rate <= 0:
        return None
    return max(0.0, jitter / clock_rate)


def mean_payload_bytes(entries: Iterable[Entry], kind: MediaKind, ssrc: int | None = None) -> float | None:
    """Mean bytes per packet the other side sent on its ``kind`` stream, from its sender reports
    (remote-outbound-rtp, preferably of ``ssrc``); failing that, of every packet on the transport."""
    entries = list(entries)
    remote = _of(entries, "remote-outbound-rtp", kind)
    remote.sort(key=lambda e: _get(e, "ssrc") != ssrc)  # the stream's own report first
    for entry in remote:
        packets, octets = _get(entry, "packetsSent"), _get(entry, "bytesSent")
        if packets and octets is not None and packets > 0:
            return float(octets) / float(packets)
    for entry in entries:
        if _get(entry, "type") == "transport":
            packets, octets = _get(entry, "packetsReceived"), _get(entry, "bytesReceived")
            if packets and octets is not None and packets > 0:
                return float(octets) / float(packets)
    return None


class ReceivedBytes:
    """An estimate of ``bytesReceived`` per kind, which aiortc does not count: every report adds the
    packets received since the last one times the mean packet size then. Never decreases; a packet counts
    at least one byte, so "packets arrived" never reads as "nothing arrived"."""

    __slots__ = ("_bytes", "_packets")

    def __init__(self) -> None:
        self._packets: dict[MediaKind, int] = {}
        self._bytes: dict[MediaKind, float] = {}

    def add(self, kind: MediaKind, packets_received: int, mean_bytes: float | None) -> int:
        """The estimate for ``kind`` after a report with ``packets_received`` packets in all."""
        new_packets = max(0, packets_received - self._packets.get(kind, 0))
        self._packets[kind] = max(packets_received, self._packets.get(kind, 0))
        self._bytes[kind] = self._bytes.get(kind, 0.0) + new_packets * max(1.0, mean_bytes or 1.0)
        return round(self._bytes[kind])

    def update(self, entries: Iterable[Entry], rtx: frozenset[int] = frozenset()) -> dict[MediaKind, int]:
        """The estimates after one getStats report, for the kinds it has an inbound stream of."""
        entries = list(entries)
        estimates: dict[MediaKind, int] = {}
        for kind in KINDS:
            entry = inbound_entry(entries, kind, rtx)
            if entry is not None:
                packets = _count(_get(entry, "packetsReceived")) or 0
                estimates[kind] = self.add(
                    kind, packets, mean_payload_bytes(entries, kind, _get(entry, "ssrc"))
                )
        return estimates


def _fps(value: float | None) -> float | None:
    return None if value is None else min(1000.0, max(0.0, value))


def _count(value: Any) -> int | None:
    return None if value is None else max(0, int(value))


def _inbound(
    entry: Entry | None, kind: MediaKind, own: OwnCounters, bytes_received: Mapping[MediaKind, int]
) -> InboundRtp | None:
    if entry is None:
        return None
    video = kind == "video"
    clock_rate = _get(entry, "clockRate") or CLOCK_RATES[kind]
    return InboundRtp(
        packets_received=_count(_get(entry, "packetsReceived")),
        packets_lost=_get(entry, "packetsLost"),
        jitter=jitter_seconds(_get(entry, "jitter"), clock_rate),
        bytes_received=bytes_received.get(kind),
        frames_decoded=own.frames_decoded if video else None,
        frames_per_second=_fps(own.frames_per_second) if video else None,
        freeze_count=own.freeze_count if video else None,
        total_freezes_duration=own.total_freezes_duration if video else None,
        total_samples_received=None if video else own.total_samples_received,
    )


def _outbound(entries: list[Entry], kind: MediaKind, own: OwnCounters) -> OutboundRtp | None:
    sent = _of(entries, "outbound-rtp", kind)
    if not sent:
        return None
    return OutboundRtp(
        bytes_sent=_count(_get(sent[0], "bytesSent")),
        frames_sent=own.frames_sent if kind == "video" else None,
    )


def _remote_inbound(entries: list[Entry], kind: MediaKind) -> RemoteInboundRtp | None:
    reports = _of(entries, "remote-inbound-rtp", kind)
    if not reports:
        return None
    rtt, lost = _get(reports[0], "roundTripTime"), _get(reports[0], "fractionLost")
    return RemoteInboundRtp(
        round_trip_time=None if rtt is None else max(0.0, float(rtt)),
        fraction_lost=None if lost is None else min(1.0, max(0.0, lost / FRACTION_LOST_SCALE)),
    )


def build_stats(
    entries: Iterable[Entry],
    own: OwnCounters,
    *,
    rtx: frozenset[int] = frozenset(),
    bytes_received: Mapping[MediaKind, int] | None = None,
    ice_state: str | None = None,
    connection_state: str | None = None,
) -> Stats:
    """The ``stats`` frame for one report: getStats ``entries`` converted, ``own`` counters added.

    ``rtx``: SSRCs of retransmission streams (:func:`rtx_ssrcs`); ``bytes_received``: the
    :class:`ReceivedBytes` estimates by kind.
    """
    entries = list(entries)
    received = bytes_received or {}
    inbound = {kind: _inbound(inbound_entry(entries, kind, rtx), kind, own, received) for kind in KINDS}
    outbound = {kind: _outbound(entries, kind, own) for kind in KINDS}
    remote = {kind: _remote_inbound(entries, kind) for kind in KINDS}
    return Stats(
        inbound=ByKind[InboundRtp](audio=inbound["audio"], video=inbound["video"]),
        outbound=ByKind[OutboundRtp](audio=outbound["audio"], video=outbound["video"]),
        remote_inbound=ByKind[RemoteInboundRtp](audio=remote["audio"], video=remote["video"]),
        ice_state=ice_state,
        connection_state=connection_state,
        sending_video=own.sending_video,
    )
