"""aiortc's getStats (stats objects or dicts) plus the participant's own counters → the ``stats`` frame."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from aiortc.stats import (
    RTCInboundRtpStreamStats,
    RTCOutboundRtpStreamStats,
    RTCRemoteInboundRtpStreamStats,
    RTCRemoteOutboundRtpStreamStats,
    RTCTransportStats,
)

from media.stats_report import (
    OwnCounters,
    ReceivedBytes,
    build_stats,
    inbound_entry,
    jitter_seconds,
    mean_payload_bytes,
    rtx_ssrcs,
)
from signaling.messages import parse_client_message
from signaling.stats import MAX_STATS_BYTES, ByKind, InboundRtp, OutboundRtp, RemoteInboundRtp, Stats

NOW = datetime.datetime(2025, 1, 1, tzinfo=datetime.UTC)
AUDIO_SSRC, VIDEO_SSRC, RTX_SSRC = 1111, 2222, 3333


def inbound(kind: str, ssrc: int, packets: int, lost: int, jitter: int) -> RTCInboundRtpStreamStats:
    return RTCInboundRtpStreamStats(
        timestamp=NOW, type="inbound-rtp", id=f"inbound-rtp_{kind}", ssrc=ssrc, kind=kind, transportId="t",
        packetsReceived=packets, packetsLost=lost, jitter=jitter,
    )  # fmt: skip


def outbound(kind: str, bytes_sent: int) -> RTCOutboundRtpStreamStats:
    return RTCOutboundRtpStreamStats(
        timestamp=NOW, type="outbound-rtp", id=f"outbound-rtp_{kind}", ssrc=9, kind=kind, transportId="t",
        packetsSent=bytes_sent // 100, bytesSent=bytes_sent, trackId="x",
    )  # fmt: skip


def remote_inbound(kind: str, rtt: float | None, fraction_lost: int) -> RTCRemoteInboundRtpStreamStats:
    return RTCRemoteInboundRtpStreamStats(
        timestamp=NOW, type="remote-inbound-rtp", id=f"remote-inbound-rtp_{kind}", ssrc=9, kind=kind,
        transportId="t", packetsReceived=0, packetsLost=0, jitter=0, roundTripTime=rtt,  # type: ignore[arg-type]
        fractionLost=fraction_lost,
    )  # fmt: skip


def remote_outbound(kind: str, ssrc: int, packets: int, octets: int) -> RTCRemoteOutboundRtpStreamStats:
    return RTCRemoteOutboundRtpStreamStats(
        timestamp=NOW, type="remote-outbound-rtp", id=f"remote-outbound-rtp_{kind}_{ssrc}", ssrc=ssrc,
        kind=kind, transportId="t", packetsSent=packets, bytesSent=octets,
    )  # fmt: skip


TRANSPORT = RTCTransportStats(
    timestamp=NOW, type="transport", id="t", packetsSent=0, packetsReceived=1000, bytesSent=0,
    bytesReceived=500_000, iceRole="controlling", dtlsState="connected",
)  # fmt: skip

SDP_WITH_RTX = (
    "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 96\r\na=ssrc:1111 cname:x\r\n"
    "m=video 9 UDP/TLS/RTP/SAVPF 97 98\r\na=ssrc-group:FID 2222 3333\r\na=ssrc:2222 cname:x\r\n"
    "a=ssrc:3333 cname:x\r\n"
)


# --- pieces ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("jitter", "clock_rate", "seconds"),
    [
        (480, 48_000, 0.010),  # Opus: 480 ticks of the 48 kHz clock are 10 ms
        (900, 90_000, 0.010),  # VP8: 900 ticks of the 90 kHz clock are 10 ms
        (80, 8_000, 0.010),  # PCMU
        (0, 90_000, 0.0),
        (None, 90_000, None),
        (480, None, None),
        (480, 0, None),
    ],
)
def test_jitter_goes_from_rtp_clock_units_to_seconds(
    jitter: int | None, clock_rate: int | None, seconds: float | None
) -> None:
    assert jitter_seconds(jitter, clock_rate) == (None if seconds is None else pytest.approx(seconds))


@pytest.mark.parametrize(
    ("sdp", "expected"),
    [
        (SDP_WITH_RTX, {3333}),
        ("a=ssrc-group:FID 1 2\r\na=ssrc-group:FID 10 20\r\n", {2, 20}),
        ("a=ssrc-group:FID 1 2", {2}),  # no line end at the very end
        ("a=ssrc-group:SIM 1 2 3\r\n", set()),  # simulcast layers are real video, not RTX
        ("v=0\r\n", set()),
        (None, set()),
    ],
)
def test_rtx_ssrcs_come_from_fid_groups(sdp: str | None, expected: set[int]) -> None:
    assert rtx_ssrcs(sdp) == expected


def test_the_real_video_stream_wins_over_its_rtx_stream() -> None:
    video = inbound("video", VIDEO_SSRC, 900, 30, 1800)
    rtx = inbound("video", RTX_SSRC, 25, 0, 90)
    entries = [rtx, video, inbound("audio", AUDIO_SSRC, 500, 0, 480)]
    assert inbound_entry(entries, "video", frozenset({RTX_SSRC})) is video
    assert inbound_entry(entries, "video") is video  # without the SDP: the one with most packets
    assert inbound_entry([rtx], "video", frozenset({RTX_SSRC})) is None  # only RTX known: no video stats
    assert inbound_entry([], "audio") is None


def test_mean_payload_size_comes_from_the_senders_reports_then_the_transport() -> None:
    own = remote_outbound("video", VIDEO_SSRC, 100, 110_000)
    other = remote_outbound("video", RTX_SSRC, 10, 5_000)
    assert mean_payload_bytes([other, own, TRANSPORT], "video", VIDEO_SSRC) == 1100.0
    assert mean_payload_bytes([other, TRANSPORT], "video", VIDEO_SSRC) == 500.0  # any report of the kind
    assert mean_payload_bytes([TRANSPORT], "audio") == 500.0  # before the first sender report
    assert mean_payload_bytes([remote_outbound("audio", 1, 0, 0)], "audio") is None


def test_received_bytes_are_estimated_and_never_go_back() -> None:
    estimate = ReceivedBytes()
    assert estimate.add("audio", 100, 80.0) == 8_000
    assert estimate.add("audio", 150, 100.0) == 13_000  # 50 new packets at the new mean size
    assert estimate.add("audio", 150, 100.0) == 13_000  # nothing new
    assert estimate.add("audio", 140, 100.0) == 13_000  # a counter going back adds nothing
    assert estimate.add("audio", 160, None) == 13_010  # no size known: a packet is at least a byte
    assert estimate.add("video", 10, 0.2) == 10
    tracked = estimate.update([inbound("video", VIDEO_SSRC, 20, 0, 0), TRANSPORT])
    assert tracked == {"video": 10 + 10 * 500}


# --- the whole frame -------------------------------------------------------------------


OWN = OwnCounters(
    frames_decoded=300,
    frames_per_second=29.5,
    freeze_count=1,
    total_freezes_duration=0.4,
    total_samples_received=480_000,
    frames_sent=310,
    sending_video=True,
)


def aiortc_report() -> list[Any]:
    """What aiortc's pc.getStats() gives on a call with some loss, plus the per-SSRC receiver entries."""
    return [
        inbound("audio", AUDIO_SSRC, 500, 5, 960),
        inbound("video", RTX_SSRC, 12, 0, 45),  # aiortc's own inbound-rtp entry: the RTX stream's
        {
            "type": "inbound-rtp",
            "kind": "video",
            "ssrc": VIDEO_SSRC,
            "packetsReceived": 900,
            "packetsLost": 30,
            "jitter": 4500,
            "clockRate": 90_000,
        },
        outbound("audio", 40_000),
        outbound("video", 1_000_000),
        remote_inbound("audio", 0.05, 64),
        remote_inbound("video", 0.06, 0),
        remote_outbound("audio", AUDIO_SSRC, 505, 50_500),
        TRANSPORT,
    ]


def test_a_whole_report_converts_with_units_fixed() -> None:
    stats = build_stats(
        aiortc_report(),
        OWN,
        rtx=frozenset({RTX_SSRC}),
        bytes_received={"audio": 50_000, "video": 900_000},
        ice_state="completed",
        connection_state="connected",
    )
    assert stats == Stats(
        inbound=ByKind[InboundRtp](
            audio=InboundRtp(
                packets_received=500,
                packets_lost=5,
                jitter=0.02,
                bytes_received=50_000,
                total_samples_received=480_000,
            ),
            video=InboundRtp(
                packets_received=900,
                packets_lost=30,
                jitter=0.05,
                bytes_received=900_000,
                frames_decoded=300,
                frames_per_second=29.5,
                freeze_count=1,
                total_freezes_duration=0.4,
            ),
        ),
        outbound=ByKind[OutboundRtp](
            audio=OutboundRtp(bytes_sent=40_000), video=OutboundRtp(bytes_sent=1_000_000, frames_sent=310)
        ),
        remote_inbound=ByKind[RemoteInboundRtp](
            audio=RemoteInboundRtp(round_trip_time=0.05, fraction_lost=0.25),
            video=RemoteInboundRtp(round_trip_time=0.06, fraction_lost=0.0),
        ),
        ice_state="completed",
        connection_state="connected",
        sending_video=True,
    )
    wire = stats.model_dump_json(by_alias=True)
    assert len(wire) < MAX_STATS_BYTES
    assert parse_client_message(wire) == stats  # what the server parses back


def test_without_getstats_entries_only_own_counters_and_states_are_left() -> None:
    stats = build_stats([], OwnCounters(sending_video=False), ice_state="new", connection_state="new")
    assert stats == Stats(ice_state="new", connection_state="new", sending_video=False)


@pytest.mark.parametrize(
    ("rtt", "fraction_lost", "expected"),
    [
        (0.1, 0, RemoteInboundRtp(round_trip_time=0.1, fraction_lost=0.0)),
        (0.1, 255, RemoteInboundRtp(round_trip_time=0.1, fraction_lost=255 / 256)),  # the byte's top
        (None, 128, RemoteInboundRtp(round_trip_time=None, fraction_lost=0.5)),  # no RTT measured yet
        (-0.001, 0, RemoteInboundRtp(round_trip_time=0.0, fraction_lost=0.0)),  # clock skew: clamped
    ],
)
def test_remote_inbound_fraction_lost_is_the_rtcp_byte_over_256(
    rtt: float | None, fraction_lost: int, expected: RemoteInboundRtp
) -> None:
    stats = build_stats([remote_inbound("audio", rtt, fraction_lost)], OwnCounters())
    assert stats.remote_inbound.audio == expected


def test_an_audio_stream_clock_rate_other_than_opus_is_used() -> None:
    pcmu = {"type": "inbound-rtp", "kind": "audio", "ssrc": 1, "packetsReceived": 10, "packetsLost": 0,
            "jitter": 80, "clockRate": 8_000}  # fmt: skip
    audio = build_stats([pcmu], OwnCounters()).inbound.audio
    assert audio is not None and audio.jitter == pytest.approx(0.01)


def test_own_video_counters_stay_off_audio_and_frame_rate_is_bounded() -> None:
    own = OwnCounters(frames_decoded=5, frames_per_second=5000.0, total_samples_received=960)
    stats = build_stats([inbound("audio", 1, 1, 0, 0), inbound("video", 2, 1, 0, 0)], own)
    assert stats.inbound.audio is not None and stats.inbound.audio.frames_decoded is None
    assert stats.inbound.audio.total_samples_received == 960
    assert stats.inbound.video is not None and stats.inbound.video.total_samples_received is None
    assert stats.inbound.video.frames_per_second == 1000.0
