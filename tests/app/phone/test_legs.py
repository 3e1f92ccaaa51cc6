"""Phone legs and the "call me" rate limit (pure, clock passed in)."""

from __future__ import annotations

import pytest

from app.phone.legs import CALLING_TIMEOUT_S, REMEMBER_S, LegState, PhoneLegs, Via
from app.phone.numbers import masked
from app.phone.rate_limit import SlidingWindow
from signaling.messages import Role

HOST, GUEST = Role.HOST, Role.GUEST


def test_a_call_me_leg_rings_joins_and_leaves() -> None:
    legs = PhoneLegs()
    legs.calling("r", HOST, "CA1", now=0)
    assert legs.busy("r", HOST, 1) is LegState.CALLING and legs.on_phone("r") == []
    assert legs.joined("r", HOST, "CA1", Via.CALL_ME, now=5)
    assert not legs.joined("r", HOST, "CA1", Via.CALL_ME, now=6)  # a repeated callback changes nothing
    assert legs.busy("r", HOST, 6) is LegState.JOINED and legs.on_phone("r") == [HOST]
    assert legs.joined("r", GUEST, "CA2", Via.DIAL_IN, now=7)
    assert legs.on_phone("r") == [HOST, GUEST] and legs.calls("r") == ["CA1", "CA2"]
    left = legs.ended("r", "CA1", now=9)
    assert left is not None and (left.state, left.role, left.via) == (LegState.LEFT, HOST, Via.CALL_ME)
    assert legs.ended("r", "CA1", now=10) is None  # the call's final status after the conference's leave
    assert legs.on_phone("r") == [GUEST] and legs.busy("r", HOST, 10) is None
    assert legs.calls("r") == ["CA2"]
    assert not legs.joined("r", HOST, "CA1", Via.CALL_ME, now=11)  # a late join after the leave
    assert legs.known("r", "CA1") and not legs.known("r", "CA9")
    legs.ended("r", "CA2", now=12)
    assert legs.known("r", "CA1")
    legs.calling("r", HOST, "CA3", now=12 + REMEMBER_S)  # an hour later the ended calls are forgotten
    assert not legs.known("r", "CA1") and legs.calls("r") == ["CA3"]


def test_a_call_that_never_joined_failed_and_a_silent_one_is_forgotten() -> None:
    legs = PhoneLegs()
    legs.calling("r", GUEST, "CA1", now=0)
    failed = legs.ended("r", "CA1", now=20)
    assert failed is not None and failed.state is LegState.FAILED
    legs.calling("r", GUEST, "CA2", now=30)
    assert legs.busy("r", GUEST, 30 + CALLING_TIMEOUT_S - 1) is LegState.CALLING
    assert legs.busy("r", GUEST, 30 + CALLING_TIMEOUT_S) is None  # its status callback never came
    assert legs.ended("r", "unknown", now=1) is None


@pytest.mark.parametrize(
    ("times", "allowed"),
    [
        ([0, 1, 2], [True, True, True]),
        ([0, 1, 2, 3], [True, True, True, False]),
        ([0, 1, 2, 10], [True, True, True, True]),  # the first fell out of the 10 s window
        ([0, 0, 0, 5, 9.99, 10], [True, True, True, False, False, True]),
    ],
)
def test_sliding_window(times: list[float], allowed: list[bool]) -> None:
    window = SlidingWindow(limit=3, window_s=10)
    assert [window.take("room", t) is None for t in times] == allowed
    assert window.take("other room", times[-1]) is None


def test_sliding_window_says_when_to_come_back() -> None:
    window = SlidingWindow(limit=1, window_s=60)
    assert window.take("r", 100) is None
    assert window.take("r", 130) == 30
    assert window.remaining("r", 130) == 0 and window.remaining("r", 160) == 1
    window.forget_idle(1000)
    assert window.remaining("r", 1000) == 1


@pytest.mark.parametrize(
    ("number", "shown"),
    [("+14155550123", "+*********23"), ("+447700900123", "+**********23"), ("0123", "***"), (None, "***")],
)
def test_numbers_are_masked(number: str | None, shown: str) -> None:
    assert masked(number) == shown
