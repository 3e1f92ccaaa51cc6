"""``duet check``: the pre-call connection test, headless.

Asks the server for the ICE servers to gather with (``POST /s/{room_id}/check/config``: TURN with
fresh credentials, as in ``welcome``), offers synthetic audio and video to the room's echo peer
(``POST /s/{room_id}/check``, a complete offer: aiortc writes every candidate into the SDP), counts
the frames that come back, then reads
getStats: remote-inbound-rtp ``roundTripTime``, ``fractionLost`` (/256, RFC 3550 §6.4.1) and
``jitter`` (RTP clock units) as the echo peer saw our streams, and our outbound bytes for the
sending bitrate. :mod:`media.precall_verdict` turns that into words.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass
from typing import Any

from aiortc import RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamTrack
from aiortc.sdp import candidate_from_sdp

from media.ice import rtc_configuration
from media.join_url import parse_join_url
from media.precall_verdict import (
    CandidateType,
    PrecallMeasurement,
    PrecallVerdict,
    connect_failure,
    verdict,
)
from media.received import ReceivedMedia
from media.sources import SyntheticSource
from media.stats_report import FRACTION_LOST_SCALE, jitter_seconds
from signaling.messages import IceServer

__all__ = ["CheckReport", "format_check", "run_check"]

_CLOCK_RATES = {"audio": 48_000, "video": 90_000}
"""RTP clock rates (Hz) of Opus (RFC 7587) and video (RFC 3551), for jitter in seconds."""


@dataclass(frozen=True, slots=True)
class CheckReport:
    """What ``duet check`` measured and what it recommends."""

    verdict: str
    """``video``, ``audio-only``, ``phone`` or ``cannot-connect``."""
    words: str
    reasons: tuple[str, ...]
    connected: bool
    rtt_s: float | None
    """Round trip in seconds."""
    loss: float | None
    """Fraction of packets lost (0-1)."""
    jitter_s: float | None
    bitrate_bps: float | None
    """Sending bitrate, bits per second."""
    audio_frames_echoed: int
    video_frames_echoed: int
    duration_s: float
    """Seconds from sending the offer to reading the stats."""


def _get(entry: Any, name: str) -> Any:
    return getattr(entry, name, None)


def _measure(stats: list[Any], connected_for_s: float) -> dict[str, float | None]:
    remote = [e for e in stats if _get(e, "type") == "remote-inbound-rtp"]
    rtts = [float(_get(e, "roundTripTime")) for e in remote if _get(e, "roundTripTime") is not None]
    losses = [
        _get(e, "fractionLost") / FRACTION_LOST_SCALE for e in remote if _get(e, "fractionLost") is not None
    ]
    jitters = [  # of the audio, as the verdict's sources judge it
        j
        for e in remote
        if _get(e, "kind") == "audio"
        and (j := jitter_seconds(_get(e, "jitter"), _CLOCK_RATES["audio"])) is not None
    ]
    sent = sum(int(_get(e, "bytesSent") or 0) for e in stats if _get(e, "type") == "outbound-rtp")
    return {
        "rtt_s": max(rtts) if rtts else None,
        "loss": min(1.0, max(losses)) if losses else None,
        "jitter_s": max(jitters) if jitters else None,
        "bitrate_bps": sent * 8 / connected_for_s if connected_for_s > 0 and sent else None,
    }


def _post_json(url: str, body: dict[str, str], timeout_s: float) -> dict[str, Any]:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}, method="POST"
    )
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback and LAN: no proxy
    with opener.open(request, timeout=timeout_s) as response:
        answer: dict[str, Any] = json.loads(response.read())
        return answer


def _gathered(sdp: str) -> set[CandidateType]:
    """The types of the candidates in an SDP's ``a=candidate`` lines (parsed as aiortc parses them)."""
    return {
        CandidateType(candidate_from_sdp(line.removeprefix("a=candidate:")).type)
        for line in sdp.splitlines()
        if line.startswith("a=candidate:")
    }


def _http_failure(exc: urllib.error.HTTPError) -> str:
    try:
        message = json.loads(exc.read()).get("message", "")
    except (ValueError, AttributeError):
        message = ""
    return f"the server refused the test (HTTP {exc.code}{': ' + message if message else ''})"


MIN_CONNECT_S = 2.0
"""Time left to connect even when gathering used up the test's duration (an unreachable TURN server)."""
MIN_MEASURE_S = 3.0
"""Measuring time once connected, even when connecting took most of the test's duration."""


async def run_check(
    url: str, *, duration_s: float | None = None, http_timeout_s: float = 10.0
) -> CheckReport:
    """Run the pre-call test against the room behind join link ``url``; never raises for a failed test.

    Like the page's test: ``duration_s`` (default: the server's, ``DUET_PRECALL_DURATION_S``) from
    the start to the figures, connecting included (at least
    :data:`MIN_CONNECT_S` to connect and :data:`MIN_MEASURE_S` to measure). A malformed ``url``
    raises :class:`~media.errors.JoinUrlError`.
    """
    join = parse_join_url(url)
    started = time.monotonic()
    base = f"{join.base_url}/s/{join.room_id}/check"
    try:
        config = await asyncio.to_thread(_post_json, f"{base}/config", {"token": join.token}, http_timeout_s)
        ice_servers = [IceServer.model_validate(server) for server in config["ice_servers"]]
        deadline = started + (duration_s if duration_s is not None else float(config["duration_s"]))
    except urllib.error.HTTPError as exc:
        return _report(started, PrecallMeasurement(connected=False), _http_failure(exc))
    except (OSError, ValueError, KeyError) as exc:
        unreachable = f"the server could not be reached ({exc})"
        return _report(started, PrecallMeasurement(connected=False), unreachable)
    received = ReceivedMedia()
    # Explicit, possibly empty: never aiortc's default public STUN server.
    pc = RTCPeerConnection(rtc_configuration(ice_servers))
    tracks = SyntheticSource().create_tracks()
    readers: list[asyncio.Task[None]] = []
    connected, ended = asyncio.Event(), asyncio.Event()

    @pc.on("track")
    def on_track(track: MediaStreamTrack) -> None:
        readers.append(received.consume(track))

    @pc.on("connectionstatechange")
    def on_state() -> None:
        if pc.connectionState == "connected":
            connected.set()
        elif pc.connectionState in ("failed", "closed"):
            ended.set()

    failure: str | tuple[str, ...] | None = None
    values: dict[str, float | None] = {}
    try:
        for track in tracks:
            pc.addTrack(track)
        await pc.setLocalDescription(await pc.createOffer())
        body = {"token": join.token, "sdp": pc.localDescription.sdp, "type": "offer"}
        try:
            answer = await asyncio.to_thread(_post_json, base, body, http_timeout_s)
        except urllib.error.HTTPError as exc:
            failure = _http_failure(exc)
        except (OSError, ValueError) as exc:
            failure = f"the server could not be reached ({exc})"
        else:
            await pc.setRemoteDescription(RTCSessionDescription(sdp=answer["sdp"], type="answer"))
            waiting = [asyncio.ensure_future(connected.wait()), asyncio.ensure_future(ended.wait())]
            connect_s = max(MIN_CONNECT_S, deadline - time.monotonic())
            await asyncio.wait(waiting, timeout=connect_s, return_when=asyncio.FIRST_COMPLETED)
            for future in waiting:
                future.cancel()
            if not connected.is_set():
                failure = connect_failure(
                    gathered=_gathered(pc.localDescription.sdp), ice_servers=ice_servers
                )
            else:
                connected_at = time.monotonic()
                measure_s = max(MIN_MEASURE_S, deadline - connected_at)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(ended.wait(), measure_s)  # the measuring period
                values = _measure(list((await pc.getStats()).values()), time.monotonic() - connected_at)
    finally:
        for reader in readers:
            reader.cancel()
        await pc.close()
        for track in tracks:
            track.stop()
    measurement = PrecallMeasurement(connected=failure is None, **values)
    return _report(started, measurement, failure, received)


def _report(
    started: float,
    measurement: PrecallMeasurement,
    failure: str | tuple[str, ...] | None,
    received: ReceivedMedia | None = None,
) -> CheckReport:
    result: PrecallVerdict = verdict(measurement, failure=failure)
    return CheckReport(
        verdict=result.verdict.value,
        words=result.words,
        reasons=result.reasons,
        connected=measurement.connected,
        rtt_s=measurement.rtt_s,
        loss=measurement.loss,
        jitter_s=measurement.jitter_s,
        bitrate_bps=measurement.bitrate_bps,
        audio_frames_echoed=received.frames("audio") if received else 0,
        video_frames_echoed=received.frames("video") if received else 0,
        duration_s=time.monotonic() - started,
    )


def format_check(report: CheckReport, *, as_json: bool = False) -> str:
    """The report for a terminal, or as JSON."""
    if as_json:
        return json.dumps(asdict(report), indent=2)

    def ms(value: float | None) -> str:
        return "n/a" if value is None else f"{value * 1000:.0f} ms"

    lines = [f"Verdict: {report.words}" + (f" ({'; '.join(report.reasons)})" if report.reasons else "")]
    if report.connected:
        loss = "n/a" if report.loss is None else f"{report.loss * 100:.1f} %"
        rate = "n/a" if report.bitrate_bps is None else f"{report.bitrate_bps / 1000:.0f} kbit/s"
        lines += [
            f"Round trip: {ms(report.rtt_s)}  loss: {loss}  jitter: {ms(report.jitter_s)}  sending: {rate}",
            f"Echoed frames: {report.video_frames_echoed} video, {report.audio_frames_echoed} audio",
        ]
    return "\n".join(lines)
