"""The pre-call verdict, table-driven."""

from __future__ import annotations

import pytest

from media.precall_verdict import CandidateType, PrecallMeasurement, Verdict, connect_failure, verdict
from signaling.messages import IceServer


@pytest.mark.parametrize(
    ("rtt_s", "loss", "jitter_s", "bitrate_bps", "expected"),
    [
        (0.001, 0.0, 0.001, 1_500_000, Verdict.VIDEO),  # loopback
        (0.08, 0.01, 0.01, 800_000, Verdict.VIDEO),  # a good home line
        (None, None, None, None, Verdict.VIDEO),  # connected, nothing measured: no evidence against
        (0.5, 0.0, 0.01, 800_000, Verdict.AUDIO_ONLY),  # long round trip
        (0.08, 0.08, 0.01, 800_000, Verdict.AUDIO_ONLY),  # 8 % loss
        (0.08, 0.0, 0.04, 800_000, Verdict.AUDIO_ONLY),  # jittery
        (0.08, 0.0, 0.01, 100_000, Verdict.AUDIO_ONLY),  # too thin for video
        (0.9, 0.0, 0.01, 800_000, Verdict.PHONE),  # satellite-like delay
        (0.08, 0.25, 0.01, 800_000, Verdict.PHONE),  # a quarter of packets lost
        (0.08, 0.0, 0.2, 800_000, Verdict.PHONE),
        (0.08, 0.0, 0.01, 15_000, Verdict.PHONE),  # not even voice fits
        (0.3, 0.04, 0.02, 300_000, Verdict.VIDEO),  # under every video limit
        (0.7, 0.10, 0.09, 30_000, Verdict.AUDIO_ONLY),  # under every audio limit, over every video one
    ],
)
def test_verdict_bands(
    rtt_s: float | None,
    loss: float | None,
    jitter_s: float | None,
    bitrate_bps: float | None,
    expected: Verdict,
) -> None:
    m = PrecallMeasurement(connected=True, rtt_s=rtt_s, loss=loss, jitter_s=jitter_s, bitrate_bps=bitrate_bps)
    result = verdict(m)
    assert result.verdict is expected
    assert bool(result.reasons) is (expected is not Verdict.VIDEO)


def test_words_and_reasons() -> None:
    assert verdict(PrecallMeasurement(connected=True, rtt_s=0.01)).words == "video will work"
    poor = verdict(PrecallMeasurement(connected=True, loss=0.08))
    assert str(poor) == "audio only recommended (packet loss 8.0 % > 5 %)"
    assert verdict(PrecallMeasurement(connected=True, rtt_s=2.0)).words == "phone recommended"
    failed = verdict(PrecallMeasurement(connected=False), failure="ICE failed")
    assert (failed.verdict, failed.words, failed.reasons) == (
        Verdict.CANNOT_CONNECT,
        "cannot connect",
        ("ICE failed",),
    )


@pytest.mark.parametrize("field", ["loss", "rtt_s", "jitter_s", "bitrate_bps"])
def test_measurement_refuses_impossible_values(field: str) -> None:
    with pytest.raises(ValueError, match=field):
        PrecallMeasurement(connected=True, **{field: -1.0})


H, S, R = CandidateType.HOST, CandidateType.SRFLX, CandidateType.RELAY


@pytest.mark.parametrize(
    ("gathered", "stun", "turn", "expected"),
    [
        (set(), False, False, ["no WebRTC connection: UDP blocked and no relay reachable"]),
        (set(), True, True, ["no WebRTC connection: UDP blocked and no relay reachable"]),
        ({H}, False, False, ["the connection checks to the server failed"]),  # candidates, no answer
        ({H}, True, False, ["UDP seems blocked: the STUN server did not answer"]),
        ({H, S}, True, True, ["the TURN relay is unreachable", "checks to the server failed"]),
        ({H}, False, True, ["the TURN relay is unreachable", "checks to the server failed"]),
        ({H}, True, True, ["UDP seems blocked", "the TURN relay is unreachable"]),
        ({H, S, R}, True, True, ["the connection checks to the server failed"]),
    ],
)
def test_why_a_test_could_not_connect(
    gathered: set[CandidateType], stun: bool, turn: bool, expected: list[str]
) -> None:
    servers = [IceServer(urls=["stun:198.18.0.1:3478"])] if stun else []
    servers += [IceServer(urls=["turn:198.18.0.1:3478"], username="u", credential="c")] if turn else []
    reasons = connect_failure(gathered=gathered, ice_servers=servers)
    assert len(reasons) == len(expected)
    for reason, words in zip(reasons, expected, strict=True):
        assert words in reason
