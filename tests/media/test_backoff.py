"""Reconnect backoff: doubling from the base, capped, jittered within the upper half."""

from __future__ import annotations

import random

import pytest

from media.backoff import Backoff


def test_delays_double_up_to_the_cap_with_jitter_in_the_upper_half() -> None:
    backoff = Backoff(0.25, 4.0, random.Random(7))
    ceilings = [0.25, 0.5, 1.0, 2.0, 4.0, 4.0, 4.0]
    delays = [backoff.next_delay() for _ in ceilings]
    assert all(c / 2 <= d <= c for c, d in zip(ceilings, delays, strict=True))
    backoff.reset()
    assert backoff.next_delay() <= 0.25


@pytest.mark.parametrize(("base", "cap"), [(0.0, 1.0), (2.0, 1.0)])
def test_bad_bounds_are_refused(base: float, cap: float) -> None:
    with pytest.raises(ValueError, match="expected 0 < base_s <= cap_s"):
        Backoff(base, cap)
