"""Freezes counted as Chromium counts them: table tests on frame arrival times."""

from __future__ import annotations

import pytest

from media.freeze_counter import FreezeCounter


def steady(fps: float, count: int, start: float = 0.0) -> list[float]:
    """``count`` arrival times ``1/fps`` apart from ``start``."""
    return [start + i / fps for i in range(count)]


def after(times: list[float], gap_s: float, fps: float, count: int) -> list[float]:
    """``times``, then ``count`` more frames at ``fps`` starting ``gap_s`` after the last one."""
    return times + steady(fps, count, times[-1] + gap_s)


SMOOTH = steady(30, 60)


@pytest.mark.parametrize(
    ("times", "freezes", "frozen_s"),
    [
        pytest.param(SMOOTH, 0, 0.0, id="30 fps, smooth"),
        pytest.param(steady(2, 20), 0, 0.0, id="2 fps, smooth: slow is not frozen"),
        pytest.param(after(SMOOTH, 0.5, 30, 10), 1, 0.5, id="one 500 ms gap at 30 fps"),
        pytest.param(after(SMOOTH, 0.15, 30, 10), 0, 0.0, id="150 ms is under average + 150 ms"),
        pytest.param(after(SMOOTH, 0.2, 30, 10), 1, 0.2, id="200 ms is over average + 150 ms"),
        pytest.param(after(after(SMOOTH, 1.0, 30, 40), 2.0, 30, 5), 2, 3.0, id="two freezes add up"),
        pytest.param(after(steady(30, 4), 1.0, 30, 5), 0, 0.0, id="under 5 gaps known: nothing detected"),
        pytest.param(after(steady(30, 5), 1.0, 30, 5), 1, 1.0, id="5 gaps known, the gap itself included"),
        # 3 x the average of the last 30 gaps, the gap itself included: 3 x (29 x 0.5 + g) / 30 = 1.61 s
        pytest.param(after(steady(2, 40), 1.6, 2, 5), 0, 0.0, id="2 fps: 1.6 s is under 3 x average"),
        pytest.param(after(steady(2, 40), 1.7, 2, 5), 1, 1.7, id="2 fps: 1.7 s is over 3 x average"),
    ],
)
def test_freezes(times: list[float], freezes: int, frozen_s: float) -> None:
    counter = FreezeCounter()
    for at in times:
        counter.add_frame(at)
    assert (counter.count, counter.total_s) == (freezes, pytest.approx(frozen_s))


def test_a_gap_after_a_pause_is_no_freeze_and_stays_out_of_the_average() -> None:
    counter = FreezeCounter()
    for at in SMOOTH:
        counter.add_frame(at)
    counter.pause()  # audio-only: the other's camera is off
    assert counter.add_frame(SMOOTH[-1] + 20.0) is False
    for at in steady(30, 30, SMOOTH[-1] + 20.0 + 1 / 30):
        assert counter.add_frame(at) is False  # the 20 s did not lift the average: smooth again
    assert counter.add_frame(SMOOTH[-1] + 30.0) is True  # and a real freeze still counts
    assert counter.count == 1


def test_a_pause_before_the_first_frame_does_not_linger() -> None:
    counter = FreezeCounter()
    counter.pause()
    for at in after(steady(30, 10), 1.0, 30, 3):
        counter.add_frame(at)
    assert counter.count == 1


def test_add_frame_says_whether_the_gap_was_a_freeze() -> None:
    counter = FreezeCounter()
    verdicts = [counter.add_frame(at) for at in after(SMOOTH, 0.5, 30, 2)]
    assert verdicts.count(True) == 1 and verdicts[len(SMOOTH)] is True
