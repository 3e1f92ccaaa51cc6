"""The ``stats`` report a client sends every few seconds, and the fallback vocabulary (modes, levels).

Field names and units are those of the W3C webrtc-stats spec (RTCInboundRtpStreamStats and
friends): counters are cumulative since the stream started; times are in **seconds**; bitrates in
**bits per second**. Every field is optional because browsers differ (and aiortc has few of them:
the headless participant computes frame and freeze counters itself and reports them in the same
fields). Like ``messages``, this is a leaf module of pure data.
"""

from __future__ import annotations

import enum
from typing import Annotated, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

__all__ = [
    "MAX_STATS_BYTES",
    "AudioLevel",
    "ByKind",
    "CallMode",
    "CandidatePair",
    "InboundRtp",
    "OutboundRtp",
    "RemoteInboundRtp",
    "Stats",
    "VideoLevel",
]

MAX_STATS_BYTES = 8 * 1024
"""Largest ``stats`` frame accepted: a full report is about 1.2 KB of JSON."""

_COUNTER = 2**53  # JavaScript's largest safe integer: any real counter is below it
Count = Annotated[int, Field(ge=0, le=_COUNTER)]
Signed = Annotated[int, Field(ge=-_COUNTER, le=_COUNTER)]  # packetsLost may go negative (duplicates)
Seconds = Annotated[float, Field(ge=0, le=1e9)]
Bps = Annotated[float, Field(ge=0, le=1e11)]
Short = Annotated[str, Field(max_length=32)]


class CallMode(enum.StrEnum):
    """How the two people are talking right now."""

    VIDEO = "video"
    AUDIO_ONLY = "audio-only"
    PHONE = "phone"


class AudioLevel(enum.StrEnum):
    """Audio quality in words, from the MOS estimate (thresholds in ``media/quality_score.py``)."""

    EXCELLENT = "excellent"
    GOOD = "good"
    POOR = "poor"
    BAD = "bad"
    LOST = "lost"
    UNKNOWN = "unknown"


class VideoLevel(enum.StrEnum):
    """Video quality in words, from the 0-100 video score."""

    GOOD = "good"
    FAIR = "fair"
    POOR = "poor"
    OFF = "off"
    UNKNOWN = "unknown"


class _Stats(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore", frozen=True)


class InboundRtp(_Stats):
    """What I receive of one kind (``inbound-rtp``): the other person's uplink as it reaches me."""

    packets_received: Count | None = None
    packets_lost: Signed | None = None
    jitter: Seconds | None = None
    bytes_received: Count | None = None
    frames_decoded: Count | None = None
    frames_per_second: Annotated[float, Field(ge=0, le=1000)] | None = None
    freeze_count: Count | None = None
    total_freezes_duration: Seconds | None = None
    jitter_buffer_delay: Seconds | None = None
    """Cumulative seconds samples/frames spent in the jitter buffer."""
    jitter_buffer_emitted_count: Count | None = None
    concealed_samples: Count | None = None
    total_samples_received: Count | None = None


class OutboundRtp(_Stats):
    """What I send of one kind (``outbound-rtp``)."""

    bytes_sent: Count | None = None
    frames_sent: Count | None = None
    quality_limitation_reason: Short | None = None
    """``none``, ``cpu``, ``bandwidth`` or ``other``."""
    target_bitrate: Bps | None = None


class RemoteInboundRtp(_Stats):
    """How the other side receives what I send, from its RTCP reports (``remote-inbound-rtp``)."""

    round_trip_time: Seconds | None = None
    fraction_lost: Annotated[float, Field(ge=0, le=1)] | None = None


class CandidatePair(_Stats):
    """The selected ICE candidate pair."""

    current_round_trip_time: Seconds | None = None
    available_outgoing_bitrate: Bps | None = None
    local_candidate_type: Short | None = None
    remote_candidate_type: Short | None = None


_T = TypeVar("_T", bound=_Stats)


class ByKind(_Stats, Generic[_T]):
    """One stats object per media kind."""

    audio: _T | None = None
    video: _T | None = None


class Stats(_Stats):
    """Client → server every ``statsIntervalS`` seconds: cumulative getStats fields."""

    type: Literal["stats"] = "stats"
    inbound: ByKind[InboundRtp] = ByKind[InboundRtp]()
    outbound: ByKind[OutboundRtp] = ByKind[OutboundRtp]()
    remote_inbound: ByKind[RemoteInboundRtp] = ByKind[RemoteInboundRtp]()
    candidate_pair: CandidatePair | None = None
    ice_state: Short | None = None
    """``RTCPeerConnection.iceConnectionState``."""
    connection_state: Short | None = None
    """``RTCPeerConnection.connectionState``."""
    sending_video: bool | None = None
    """Whether my camera is on and sending (off in audio-only, or when I turned it off)."""
