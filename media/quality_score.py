"""Scoring a received stream from the difference between two consecutive stats reports.

Pure functions. Units: seconds for times, fractions (0-1) for loss unless a name says ``pct``.
Each threshold says where its number comes from.
"""

from __future__ import annotations

from dataclasses import dataclass

from signaling.stats import AudioLevel, CandidatePair, InboundRtp, OutboundRtp, VideoLevel

__all__ = [
    "MAX_GAP_INTERVALS",
    "AsymmetricSmoother",
    "InboundWindow",
    "SenderWindow",
    "VideoScore",
    "audio_level",
    "inbound_window",
    "mos",
    "sender_window",
    "video_level",
    "video_score",
]

MAX_GAP_INTERVALS = 3.0
"""A pair of reports further apart than this many report intervals is not compared (the issue's rule:
a long gap hides what happened in it)."""

# --- windows -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class InboundWindow:
    """What arrived of one stream between two reports of the receiver."""

    seconds: float
    packets_received: int
    packets_lost: int
    bytes_received: int
    jitter_s: float | None
    """Interarrival jitter at the end of the window (seconds; the spec's field is already in seconds)."""
    jitter_buffer_delay_s: float | None
    """Mean time a sample spent in the jitter buffer during the window."""
    frames_decoded: int | None
    freezes: int | None
    freeze_seconds: float | None

    @property
    def loss(self) -> float | None:
        """Fraction of the packets expected in the window that never arrived."""
        expected = self.packets_received + self.packets_lost
        return None if expected <= 0 else max(0.0, self.packets_lost / expected)

    @property
    def fps(self) -> float | None:
        return (
            None if self.frames_decoded is None or self.seconds <= 0 else self.frames_decoded / self.seconds
        )


@dataclass(frozen=True, slots=True)
class SenderWindow:
    """What the sender reported of its own video between two of its reports."""

    seconds: float
    frames_sent: int | None
    quality_limitation_reason: str | None
    available_outgoing_bitrate: float | None
    """Bits per second the sender's congestion controller thinks it can send (candidate pair)."""

    @property
    def fps(self) -> float | None:
        return None if self.frames_sent is None or self.seconds <= 0 else self.frames_sent / self.seconds


def _delta(prev: int | float | None, cur: int | float | None) -> float | None:
    if prev is None or cur is None:
        return None
    return cur - prev


def inbound_window(prev: InboundRtp | None, cur: InboundRtp | None, seconds: float) -> InboundWindow | None:
    """The window between two cumulative reports, or ``None`` if they cannot be compared.

    A counter that went backwards (a new peer connection restarted the stream) makes the pair useless.
    """
    if prev is None or cur is None or seconds <= 0:
        return None
    received = _delta(prev.packets_received, cur.packets_received)
    lost = _delta(prev.packets_lost, cur.packets_lost)
    bytes_ = _delta(prev.bytes_received, cur.bytes_received)
    if received is None or bytes_ is None:
        return None
    counters = [
        received,
        bytes_,
        _delta(prev.frames_decoded, cur.frames_decoded),
        _delta(prev.freeze_count, cur.freeze_count),
        _delta(prev.total_freezes_duration, cur.total_freezes_duration),
        _delta(prev.jitter_buffer_emitted_count, cur.jitter_buffer_emitted_count),
    ]
    if any(c is not None and c < 0 for c in counters):
        return None
    emitted = _delta(prev.jitter_buffer_emitted_count, cur.jitter_buffer_emitted_count)
    buffered = _delta(prev.jitter_buffer_delay, cur.jitter_buffer_delay)
    frames = _delta(prev.frames_decoded, cur.frames_decoded)
    freezes = _delta(prev.freeze_count, cur.freeze_count)
    frozen = _delta(prev.total_freezes_duration, cur.total_freezes_duration)
    return InboundWindow(
        seconds=seconds,
        packets_received=int(received),
        packets_lost=max(0, int(lost or 0)),
        bytes_received=int(bytes_),
        jitter_s=cur.jitter,
        jitter_buffer_delay_s=(buffered / emitted) if buffered is not None and emitted else None,
        frames_decoded=None if frames is None else int(frames),
        freezes=None if freezes is None else int(freezes),
        freeze_seconds=frozen,
    )


def sender_window(
    prev: OutboundRtp | None, cur: OutboundRtp | None, pair: CandidatePair | None, seconds: float
) -> SenderWindow | None:
    if cur is None or seconds <= 0:
        return None
    frames = _delta(prev.frames_sent if prev else None, cur.frames_sent)
    if frames is not None and frames < 0:
        frames = None
    return SenderWindow(
        seconds=seconds,
        frames_sent=None if frames is None else int(frames),
        quality_limitation_reason=cur.quality_limitation_reason,
        available_outgoing_bitrate=pair.available_outgoing_bitrate if pair else None,
    )


# --- audio: the E-model ----------------------------------------------------------

_R0 = 94.768
"""Base R-factor with no impairment, from ITU-T G.107's default values (as used by Twilio's
preflight ``mos.ts`` and webrtc-issue-detector)."""


def mos(*, rtt_s: float, jitter_s: float, jitter_buffer_s: float, loss: float) -> float:
    """Mean opinion score (1-4.5) of a voice stream, by a simplified ITU-T G.107 E-model.

    The shape is Twilio's preflight ``calculateMOS`` (effective latency → R-factor, minus 2.5 per
    percent lost, R → MOS by G.107 Annex B); the delay term is mouth-to-ear, as the issue asks:
    half the round trip plus what the jitter buffer holds, where Twilio uses the whole round trip.
    """
    one_way_ms = rtt_s * 1000 / 2 + jitter_buffer_s * 1000
    effective_ms = one_way_ms + 2 * jitter_s * 1000 + 10  # 10 ms for codec framing (Twilio, mos.ts)
    if effective_ms < 160:
        r = _R0 - effective_ms / 40
    elif effective_ms < 1000:
        r = _R0 - (effective_ms - 120) / 10
    else:
        r = 0.0
    loss_pct = loss * 100
    r = max(r - 2.5 * loss_pct, 6.52) if loss_pct <= r / 2.5 else 0.0
    score = 1 + 0.035 * r + 0.000007 * r * (r - 60) * (100 - r)
    return max(1.0, min(4.5, score))


def audio_level(score: float | None, *, lost: bool = False) -> AudioLevel:
    """MOS to words: excellent ≥ 4.0, good ≥ 3.6, poor ≥ 2.6, bad below (the issue's bands, which
    follow ITU-T G.107's user-satisfaction table: R 80/70/50 ≈ MOS 4.0/3.6/2.6)."""
    if lost:
        return AudioLevel.LOST
    if score is None:
        return AudioLevel.UNKNOWN
    if score >= 4.0:
        return AudioLevel.EXCELLENT
    if score >= 3.6:
        return AudioLevel.GOOD
    if score >= 2.6:
        return AudioLevel.POOR
    return AudioLevel.BAD


# --- video -------------------------------------------------------------------

VIDEO_GOOD = 80.0
"""Score at and above which video is good: under 2% loss (LiveKit's video quality bands)."""
VIDEO_POOR = 40.0
"""Score at and below which video is poor: 6% loss and more (LiveKit's video quality bands)."""
_POOR_PENALTY = 20.0
"""Score for a symptom that makes video poor on its own (freezes, collapsed frame rate, starved
uplink): low enough that one window crosses the poor line through the 0.8 smoothing
(0.2 x 100 + 0.8 x 20 = 36 ≤ 40), so such trouble is seen after one report, like heavy loss."""
_FAIR_PENALTY = 60.0
"""Score for a symptom that makes video merely fair (a choppy frame rate)."""
FROZEN_FRACTION_POOR = 0.3
"""More than 30% of the window frozen reads as a stalled picture (the issue's rule)."""
MEAN_FREEZE_POOR_S = 1.0
"""Freezes averaging over a second are what people report as 'video froze' (the issue's rule)."""
FPS_POOR = 5.0
"""Below 5 frames/s motion breaks into a slideshow (ITU-T P.910 notes intelligibility of lip
movement needs roughly 5-10 fps); duet treats it as poor."""
FPS_FAIR = 12.0
"""Below 12 frames/s is visibly choppy: fair."""
MIN_UPLINK_BPS = 150_000.0
"""Below ~150 kbit/s a sender cannot keep even a small video stream (the issue's bound; Jitsi
drops video below about this much, and WebRTC's own minimum video bitrate is 30-50 kbit/s)."""
SENDER_STALLED_FPS = 5.0


@dataclass(frozen=True, slots=True)
class VideoScore:
    """A video score (0-100) and what is wrong, in words."""

    score: float
    problems: tuple[str, ...]


def video_score(received: InboundWindow, sender: SenderWindow | None) -> VideoScore:
    """The minimum of the loss, freeze, frame-rate and sender-bandwidth scores."""
    candidates: list[tuple[float, str | None]] = []
    loss = received.loss
    if loss is not None:
        candidates.append(
            (max(0.0, 100 - 10 * loss * 100), f"{loss:.0%} of video packets lost" if loss >= 0.02 else None)
        )
    if received.packets_received == 0 and received.bytes_received == 0:
        candidates.append((0.0, "video is not arriving"))
    if received.freeze_seconds is not None and received.seconds > 0:
        frozen = received.freeze_seconds / received.seconds
        mean_freeze = received.freeze_seconds / received.freezes if received.freezes else 0.0
        if frozen > FROZEN_FRACTION_POOR or mean_freeze > MEAN_FREEZE_POOR_S:
            candidates.append((_POOR_PENALTY, "video keeps freezing"))
    fps = received.fps
    if fps is not None and received.packets_received > 0:
        if fps < FPS_POOR:
            candidates.append((_POOR_PENALTY, f"video at {fps:.0f} frames/s"))
        elif fps < FPS_FAIR:
            candidates.append((_FAIR_PENALTY, f"video at {fps:.0f} frames/s"))
    if sender is not None:
        bitrate = sender.available_outgoing_bitrate
        if bitrate is not None and bitrate < MIN_UPLINK_BPS:
            candidates.append((_POOR_PENALTY, f"upload too slow ({bitrate / 1000:.0f} kbit/s)"))
        stalled = sender.fps is not None and sender.fps < SENDER_STALLED_FPS
        if sender.quality_limitation_reason == "bandwidth" and stalled:
            candidates.append((_POOR_PENALTY, "upload too slow for video"))
    if not candidates:
        return VideoScore(100.0, ())
    score = min(value for value, _ in candidates)
    problems = tuple(dict.fromkeys(words for _, words in candidates if words))
    return VideoScore(score, problems)


def video_level(score: float | None, *, sending: bool = True) -> VideoLevel:
    if not sending:
        return VideoLevel.OFF
    if score is None:
        return VideoLevel.UNKNOWN
    if score >= VIDEO_GOOD:
        return VideoLevel.GOOD
    if score > VIDEO_POOR:
        return VideoLevel.FAIR
    return VideoLevel.POOR


# --- smoothing ---------------------------------------------------------------


class AsymmetricSmoother:
    """Exponential smoothing that falls fast and rises slowly, so one bad window does not flap.

    Factors from LiveKit's connection-quality scorer (``pkg/sfu/connectionquality``): a new value
    weighs 0.8 when it is lower than the current one and 0.4 when it is higher.
    """

    __slots__ = ("down", "up", "value")

    def __init__(self, *, down: float = 0.8, up: float = 0.4) -> None:
        self.down, self.up = down, up
        self.value: float | None = None

    def add(self, sample: float) -> float:
        if self.value is None:
            self.value = sample
        else:
            factor = self.down if sample < self.value else self.up
            self.value = factor * sample + (1 - factor) * self.value
        return self.value

    def reset(self) -> None:
        self.value = None
