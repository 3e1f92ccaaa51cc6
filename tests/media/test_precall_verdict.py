"""The pre-call verdict, table-driven."""

from __future__ import annotations

import pytest

from media.precall_verdict import PrecallMeasurement, Verdict, verdict


@pytest.mark.parametrize(
    ("rtt_s", "loss", "jitter_s", "bitrate_bps", "expected"),
    [
        (0.001, 0.0, 0.001, 1_500_000, Verdict.VIDEO),  # loopback
        (0.08, 0.01, 0.01, 800_000, Verdict.VIDEO),  # a good home line
        (None, None, None, None, Verdict.VIDEO),  # connected, nothing measured: no evidence against
        (0.5, 0.0, 0.01, 800_000, Verdict.AUDIO_ONLY),  # long round trip
        (0.08, 0.08, 0.01, 800_000, Verdict.AUDIO_ONLY),  # 8 % loss
        (0.08, 0.0, 0.07, 800_000, Verdict.AUDIO_ONLY),  # jittery
        (0.08, 0.0, 0.01, 100_000, Verdict.AUDIO_ONLY),  # too thin for video
        (1.5, 0.0, 0.01, 800_000, Verdict.PHONE),  # satellite-like delay
        (0.08, 0.25, 0.01, 800_000, Verdict.PHONE),  # a quarter of packets lost
        (0.08, 0.0, 0.2, 800_000, Verdict.PHONE),
        (0.08, 0.0, 0.01, 20_000, Verdict.PHONE),  # not even voice fits
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
