"""Scoring functions, table-driven."""

from __future__ import annotations

import pytest

from media.quality_score import (
    AsymmetricSmoother,
    InboundWindow,
    SenderWindow,
    audio_level,
    inbound_window,
    mos,
    video_level,
    video_score,
)
from signaling.stats import AudioLevel, InboundRtp, VideoLevel


@pytest.mark.parametrize(
    ("rtt_ms", "jitter_ms", "buffer_ms", "loss", "level"),
    [
        (40, 4, 30, 0.0, AudioLevel.EXCELLENT),  # a good home connection
        (400, 10, 40, 0.0, AudioLevel.EXCELLENT),  # 400 ms round trip alone: the delay is still fine
        (40, 4, 30, 0.05, AudioLevel.EXCELLENT),  # 5% loss: R ≈ 81
        (40, 4, 30, 0.10, AudioLevel.POOR),  # 10% loss
        (40, 4, 30, 0.20, AudioLevel.BAD),
        (40, 4, 30, 0.30, AudioLevel.BAD),
        (600, 10, 60, 0.0, AudioLevel.POOR),  # 600 ms round trip: talking over each other
        (1200, 50, 100, 0.0, AudioLevel.BAD),  # satellite-like delay
        (40, 4, 30, 0.5, AudioLevel.BAD),
    ],
)
def test_mos_levels(
    rtt_ms: float, jitter_ms: float, buffer_ms: float, loss: float, level: AudioLevel
) -> None:
    score = mos(rtt_s=rtt_ms / 1000, jitter_s=jitter_ms / 1000, jitter_buffer_s=buffer_ms / 1000, loss=loss)
    assert 1.0 <= score <= 4.5
    assert audio_level(score) is level, score


def test_mos_matches_twilio_reference_point() -> None:
    # Twilio's calculateMOS(0, 0, 0): effective latency 10 ms, R = 94.518, MOS = 4.433.
    assert mos(rtt_s=0, jitter_s=0, jitter_buffer_s=0, loss=0) == pytest.approx(4.433, abs=0.001)


@pytest.mark.parametrize(
    ("score", "lost", "level"),
    [
        (4.2, False, AudioLevel.EXCELLENT),
        (3.7, False, AudioLevel.GOOD),
        (3.0, False, AudioLevel.POOR),
        (2.0, False, AudioLevel.BAD),
        (4.2, True, AudioLevel.LOST),
        (None, False, AudioLevel.UNKNOWN),
    ],
)
def test_audio_levels(score: float | None, lost: bool, level: AudioLevel) -> None:
    assert audio_level(score, lost=lost) is level


def _window(**kw: float) -> InboundWindow:
    base: dict[str, float | None] = dict(
        seconds=2.0,
        packets_received=240,
        packets_lost=0,
        bytes_received=264_000,
        jitter_s=0.004,
        jitter_buffer_delay_s=0.03,
        frames_decoded=60,
        freezes=0,
        freeze_seconds=0.0,
    )
    base.update(kw)
    return InboundWindow(**base)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("window", "sender", "level", "words"),
    [
        (_window(), None, VideoLevel.GOOD, ""),
        (_window(packets_received=236, packets_lost=4), None, VideoLevel.GOOD, ""),  # 1.7% → 83
        (_window(packets_received=228, packets_lost=12), None, VideoLevel.FAIR, "5% of video packets lost"),
        (_window(packets_received=216, packets_lost=24), None, VideoLevel.POOR, "10% of video packets lost"),
        (_window(freezes=1, freeze_seconds=1.5), None, VideoLevel.POOR, "freezing"),
        (_window(frames_decoded=6), None, VideoLevel.POOR, "3 frames/s"),
        (_window(frames_decoded=20), None, VideoLevel.FAIR, "10 frames/s"),
        (
            _window(packets_received=0, bytes_received=0, frames_decoded=0),
            None,
            VideoLevel.POOR,
            "not arriving",
        ),
        (_window(), SenderWindow(2.0, 60, "none", 100_000), VideoLevel.POOR, "upload too slow (100 kbit/s)"),
        (_window(), SenderWindow(2.0, 4, "bandwidth", None), VideoLevel.POOR, "upload too slow for video"),
        (_window(), SenderWindow(2.0, 60, "bandwidth", 900_000), VideoLevel.GOOD, ""),  # limited but flowing
    ],
)
def test_video_score(
    window: InboundWindow, sender: SenderWindow | None, level: VideoLevel, words: str
) -> None:
    scored = video_score(window, sender)
    assert video_level(scored.score) is level, scored
    assert words in " / ".join(scored.problems)
    assert (not words) == (not scored.problems)


def test_windows_refuse_counters_going_backwards() -> None:
    a = InboundRtp(packets_received=100, packets_lost=1, bytes_received=1000, frames_decoded=30)
    b = InboundRtp(
        packets_received=50, packets_lost=0, bytes_received=500, frames_decoded=10
    )  # a new connection
    assert inbound_window(a, b, 2.0) is None
    window = inbound_window(b, a, 2.0)
    assert window is not None and window.packets_lost == 1 and window.fps == 10
    assert inbound_window(None, a, 2.0) is None
    assert inbound_window(a, InboundRtp(packets_received=120), 2.0) is None  # bytes missing: cannot judge


def test_jitter_buffer_delay_is_per_emitted_sample_in_the_window() -> None:
    a = InboundRtp(
        packets_received=0, bytes_received=0, jitter_buffer_delay=10.0, jitter_buffer_emitted_count=1000
    )
    b = InboundRtp(
        packets_received=100, bytes_received=9000, jitter_buffer_delay=70.0, jitter_buffer_emitted_count=2000
    )
    window = inbound_window(a, b, 2.0)
    assert window is not None and window.jitter_buffer_delay_s == pytest.approx(0.06)


def test_smoother_falls_fast_and_rises_slowly() -> None:
    s = AsymmetricSmoother()
    trace = [s.add(v) for v in (100, 0, 100, 100)]
    assert trace == pytest.approx([100, 20, 52, 71.2])
