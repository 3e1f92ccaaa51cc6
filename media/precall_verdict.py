"""The pre-call test's verdict: from what an ~8 s echo test measured to one sentence a person can act on.

A pure function, no clock and no IO. The bands are duet's own, set to agree (approximately; none of
these products publishes one exact table for this question) with what others use before a call:

* Jitsi Meet's pre-join connection status rates the pre-call test from its packet loss and
  throughput: heavy loss or little throughput (a few hundred kbit/s) is "poor" (audio only at best).
* Twilio Video's Preflight API (``runPreflight``) grades round-trip time, jitter and packet loss
  into a 1-5 quality score; its "excellent" bands are roughly RTT < 150 ms, jitter < 30 ms and loss
  < 1 %, and it calls loss above ~5 % or RTT above ~400 ms poor.
* Daily's call quality test (``testCallQuality``) answers good / warning / bad from loss and RTT,
  with a few percent of loss already a warning.
* ITU-T G.114 puts one-way delay above ~400 ms (round trip ~800 ms+) past usable conversation;
  G.107's E-model loses roughly a quality class per few percent of loss for Opus-like codecs.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

__all__ = ["PrecallMeasurement", "PrecallVerdict", "Verdict", "verdict"]

VIDEO_MAX_RTT_S = 0.4
"""Round trip above which video is not recommended (Twilio preflight: RTT > ~400 ms is poor)."""
VIDEO_MAX_LOSS = 0.05
"""Packet loss (fraction) above which video is not recommended (Twilio/Daily: > ~5 % is poor/warning)."""
VIDEO_MAX_JITTER_S = 0.05
"""Jitter above which video is not recommended (Twilio preflight: excellent < 30 ms; 50 ms is fair)."""
VIDEO_MIN_BITRATE_BPS = 250_000
"""Sending bitrate below which video is not recommended (Jitsi pre-join: a few hundred kbit/s is poor)."""
AUDIO_MAX_RTT_S = 1.0
"""Round trip above which even audio is not usable (ITU-T G.114: one way > 400 ms, plus slack)."""
AUDIO_MAX_LOSS = 0.15
"""Loss above which even Opus with FEC breaks up (E-model, Twilio's lowest score band)."""
AUDIO_MAX_JITTER_S = 0.1
"""Jitter above which a jitter buffer adds too much delay for conversation (Twilio's lowest band)."""
AUDIO_MIN_BITRATE_BPS = 30_000
"""Sending bitrate below which even Opus voice (~20-32 kbit/s plus headers) does not fit."""


class Verdict(enum.StrEnum):
    """What the pre-call test recommends."""

    VIDEO = "video"
    AUDIO_ONLY = "audio-only"
    PHONE = "phone"
    CANNOT_CONNECT = "cannot-connect"


_WORDS = {
    Verdict.VIDEO: "video will work",
    Verdict.AUDIO_ONLY: "audio only recommended",
    Verdict.PHONE: "phone recommended",
    Verdict.CANNOT_CONNECT: "cannot connect",
}


@dataclass(frozen=True, slots=True)
class PrecallMeasurement:
    """What the test measured; ``None`` where nothing could be measured."""

    connected: bool
    """Whether ICE and DTLS connected at all."""
    rtt_s: float | None = None
    """Round-trip time in seconds (remote-inbound-rtp ``roundTripTime``)."""
    loss: float | None = None
    """Fraction of packets lost, 0-1 (``fractionLost`` / 256)."""
    jitter_s: float | None = None
    """Interarrival jitter in seconds."""
    bitrate_bps: float | None = None
    """Sending bitrate in bits per second."""

    def __post_init__(self) -> None:
        if self.loss is not None and not 0.0 <= self.loss <= 1.0:
            raise ValueError(f"'loss' must be a fraction between 0 and 1 (got {self.loss!r})")
        for name in ("rtt_s", "jitter_s", "bitrate_bps"):
            value = getattr(self, name)
            if value is not None and value < 0:
                raise ValueError(f"{name!r} must not be negative (got {value!r})")


@dataclass(frozen=True, slots=True)
class PrecallVerdict:
    """The verdict, its words, and why (empty when video will work)."""

    verdict: Verdict
    reasons: tuple[str, ...] = ()

    @property
    def words(self) -> str:
        return _WORDS[self.verdict]

    def __str__(self) -> str:
        return self.words + (f" ({'; '.join(self.reasons)})" if self.reasons else "")


def _reasons(m: PrecallMeasurement, rtt: float, loss: float, jitter: float, bitrate: float) -> list[str]:
    """Why ``m`` misses limits ``rtt`` (s), ``loss`` (fraction), ``jitter`` (s), ``bitrate`` (bit/s)."""
    reasons = []
    if m.rtt_s is not None and m.rtt_s > rtt:
        reasons.append(f"round trip {m.rtt_s * 1000:.0f} ms > {rtt * 1000:.0f} ms")
    if m.loss is not None and m.loss > loss:
        reasons.append(f"packet loss {m.loss * 100:.1f} % > {loss * 100:.0f} %")
    if m.jitter_s is not None and m.jitter_s > jitter:
        reasons.append(f"jitter {m.jitter_s * 1000:.0f} ms > {jitter * 1000:.0f} ms")
    if m.bitrate_bps is not None and m.bitrate_bps < bitrate:
        reasons.append(f"sending {m.bitrate_bps / 1000:.0f} kbit/s < {bitrate / 1000:.0f} kbit/s")
    return reasons


def verdict(m: PrecallMeasurement, *, failure: str | None = None) -> PrecallVerdict:
    """The recommendation for ``m``; ``failure`` says why the connection failed, if it did."""
    if not m.connected:
        return PrecallVerdict(Verdict.CANNOT_CONNECT, (failure or "no WebRTC connection to the server",))
    bad = _reasons(m, AUDIO_MAX_RTT_S, AUDIO_MAX_LOSS, AUDIO_MAX_JITTER_S, AUDIO_MIN_BITRATE_BPS)
    if bad:
        return PrecallVerdict(Verdict.PHONE, tuple(bad))
    poor = _reasons(m, VIDEO_MAX_RTT_S, VIDEO_MAX_LOSS, VIDEO_MAX_JITTER_S, VIDEO_MIN_BITRATE_BPS)
    if poor:
        return PrecallVerdict(Verdict.AUDIO_ONLY, tuple(poor))
    return PrecallVerdict(Verdict.VIDEO)
