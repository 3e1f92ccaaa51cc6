"""The pre-call test's verdict: from what an ~8 s echo test measured to one sentence a person can act on.

A pure function, no clock and no IO. The bands are duet's own, set from what others publish (none
of them answers exactly this question, so each constant says which source it follows):

* Jitsi Meet's pre-join test (jitsi/jitsi-meet ``react/features/base/premeeting/functions.ts``:
  ``LOSS_AUDIO_THRESHOLDS = [0.33, 0.05]``, ``LOSS_VIDEO_THRESHOLDS = [0.33, 0.1, 0.05]``,
  ``THROUGHPUT_AUDIO_THRESHOLDS = [8, 20]`` and ``THROUGHPUT_VIDEO_THRESHOLDS = [60, 750]`` kbit/s)
  judges loss and throughput only: calls impossible below 8 kbit/s or above 33 % loss, no video
  below 60 kbit/s, and loss above 5 % is no longer "good" (audio clipping, video tearing).
* Twilio Video's ``runPreflight`` reports round trip, jitter and loss without a verdict; Twilio's
  diagnostics app (twilio/twilio-video-diagnostics-react-app ``getQualityScore.ts``) calls an
  average round trip of 400 ms or more, jitter of 30 ms or more, loss of 8 % or more or a bitrate
  of 150 kbit/s or less "bad"; the twilio-video.js 2.8.0-beta.1 notes give audio jitter < 30 ms and
  loss < 1 % as optimal.
* Daily's ``testCallQuality()`` (docs.daily.co): good below 5 % send loss and 300 ms maximum round
  trip; warning at 5-10 % and 300-600 ms; bad from 10 % and 600 ms. Daily Prebuilt turns the
  camera off at "bad".
* LiveKit's connection quality (livekit/livekit ``pkg/sfu/connectionquality``): Opus audio with FEC
  falls to POOR at 11.25 % loss; video at 6 %.
* ITU-T G.114 (05/2003): a one-way delay of 400 ms "should not be exceeded for general network
  planning".
"""

from __future__ import annotations

import enum
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from signaling.messages import IceServer

__all__ = ["CandidateType", "PrecallMeasurement", "PrecallVerdict", "Verdict", "connect_failure", "verdict"]

VIDEO_MAX_RTT_S = 0.4
"""Round trip above which video is not recommended (Twilio diagnostics: >= 400 ms is bad; Daily: warning)."""
VIDEO_MAX_LOSS = 0.05
"""Loss (fraction) above which video is not recommended (Jitsi: > 5 % is not good; Daily: warning)."""
VIDEO_MAX_JITTER_S = 0.03
"""Audio jitter above which video is not recommended (Twilio: < 30 ms optimal, >= 30 ms bad)."""
VIDEO_MIN_BITRATE_BPS = 150_000
"""Upstream bitrate below which video is not recommended (Twilio diagnostics: <= 150 kbit/s is bad)."""
AUDIO_MAX_RTT_S = 0.8
"""Round trip above which even audio is not usable: twice G.114's 400 ms one-way limit (Daily: bad)."""
AUDIO_MAX_LOSS = 0.11
"""Loss above which even audio breaks up (LiveKit: Opus with FEC is POOR at 11.25 %; Daily: bad at 10 %)."""
AUDIO_MAX_JITTER_S = 0.1
"""Audio jitter above which the jitter buffer's delay spoils conversation: duet's own choice (no source
above gives an audio-only limit; 100 ms of buffering plus a typical round trip nears G.114's limit)."""
AUDIO_MIN_BITRATE_BPS = 20_000
"""Upstream bitrate below which even voice does not fit (Jitsi: >= 20 kbit/s full audio, < 8 impossible)."""


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


class CandidateType(enum.StrEnum):
    """An ICE candidate's type (RFC 8445 §5.1.1; ``typ`` in SDP, ``candidateType`` in getStats)."""

    HOST = "host"
    SRFLX = "srflx"
    PRFLX = "prflx"
    RELAY = "relay"


def connect_failure(
    *, gathered: Collection[CandidateType], ice_servers: Sequence[IceServer]
) -> tuple[str, ...]:
    """Why a test that never connected failed, from what the client could gather.

    ``gathered``: the types of the client's own candidates; ``ice_servers``: the STUN and TURN
    servers it was given to gather them with. A STUN server answers over UDP, so no
    server-reflexive candidate means UDP to it is blocked; no relay candidate means the TURN server
    could not be reached (or refused the credentials); candidates but no connection means the
    connectivity checks between the two were dropped.
    """
    urls = [url for server in ice_servers for url in server.urls]
    stun = any(url.startswith("stun") for url in urls)  # stun: and stuns:
    turn = any(url.startswith("turn") for url in urls)  # turn: and turns:
    if not gathered:
        return ("your browser or network allows no WebRTC connection: UDP blocked and no relay reachable",)
    reasons = []
    if stun and CandidateType.SRFLX not in gathered:
        reasons.append("UDP seems blocked: the STUN server did not answer")
    if turn and CandidateType.RELAY not in gathered:
        reasons.append("the TURN relay is unreachable")
    if not reasons or reasons == ["the TURN relay is unreachable"]:
        reasons.append("the connection checks to the server failed: UDP to the server is blocked")
    return tuple(reasons)


def verdict(m: PrecallMeasurement, *, failure: str | Sequence[str] | None = None) -> PrecallVerdict:
    """The recommendation for ``m``; ``failure`` says why the connection failed, if it did (one
    reason, or several, e.g. from :func:`connect_failure`)."""
    if not m.connected:
        reasons = (failure,) if isinstance(failure, str) else tuple(failure or ())
        return PrecallVerdict(Verdict.CANNOT_CONNECT, reasons or ("no WebRTC connection to the server",))
    bad = _reasons(m, AUDIO_MAX_RTT_S, AUDIO_MAX_LOSS, AUDIO_MAX_JITTER_S, AUDIO_MIN_BITRATE_BPS)
    if bad:
        return PrecallVerdict(Verdict.PHONE, tuple(bad))
    poor = _reasons(m, VIDEO_MAX_RTT_S, VIDEO_MAX_LOSS, VIDEO_MAX_JITTER_S, VIDEO_MIN_BITRATE_BPS)
    if poor:
        return PrecallVerdict(Verdict.AUDIO_ONLY, tuple(poor))
    return PrecallVerdict(Verdict.VIDEO)
