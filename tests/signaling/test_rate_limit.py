"""Token buckets and a socket's frame budget, as tables over an injected clock."""

from __future__ import annotations

import pytest

from signaling.rate_limit import (
    ANY_BURST,
    STRIKES,
    FrameBudget,
    TokenBucket,
    Verdict,
)


@pytest.mark.parametrize(
    ("rate", "burst", "times", "expected"),
    [
        (1.0, 2.0, [0, 0, 0], [True, True, False]),  # starts full, then empty
        (1.0, 2.0, [0, 0, 0.5, 1.0], [True, True, False, True]),  # one token a second
        (1.0, 2.0, [0, 10, 10, 10], [True, True, True, False]),  # never more than the burst
        (0.5, 1.0, [0, 1, 2, 3, 4], [True, False, True, False, True]),
    ],
)
def test_token_bucket(rate: float, burst: float, times: list[float], expected: list[bool]) -> None:
    bucket = TokenBucket(rate, burst)
    assert [bucket.take(t) for t in times] == expected


def test_a_bucket_is_forgotten_only_once_refilled() -> None:
    bucket = TokenBucket(1.0, 3.0)
    assert bucket.refilled(0)
    bucket.take(0)
    assert not bucket.refilled(0.5) and bucket.refilled(1.0)


def test_a_burst_then_a_notice_a_second_then_close_once_out_of_strikes() -> None:
    budget = FrameBudget.for_stats_every(2.0)
    verdicts = [budget.arrived(0.0) for _ in range(int(ANY_BURST) + 3)]
    assert verdicts[: int(ANY_BURST)] == [Verdict.ACCEPT] * int(ANY_BURST)
    assert verdicts[int(ANY_BURST) :] == [Verdict.NOTICE, Verdict.DROP, Verdict.DROP]
    more = [budget.arrived(0.0) for _ in range(int(STRIKES))]
    assert more[-4:] == [Verdict.DROP, Verdict.CLOSE, Verdict.CLOSE, Verdict.CLOSE]
    assert more.index(Verdict.CLOSE) == int(STRIKES) - 3  # 3 strikes were taken above


def test_frames_at_the_sustained_limit_are_never_refused() -> None:
    budget = FrameBudget.for_stats_every(2.0)
    assert all(budget.arrived(i / 20) is Verdict.ACCEPT for i in range(2000))  # 20 a second, 100 s


def test_a_slow_flood_gets_notices_and_is_forgiven() -> None:
    """Over the limit by less than the strikes are forgiven: dropped frames, never closed."""
    budget = FrameBudget.for_stats_every(2.0)
    verdicts = [budget.arrived(i / 25) for i in range(25 * 60)]  # 25 a second for a minute
    assert Verdict.CLOSE not in verdicts and Verdict.NOTICE in verdicts


@pytest.mark.parametrize(
    ("type_", "first_refused"),
    [("stats", 6), ("set-mode", 6), ("decide", 6), ("ping", None), ("candidate", None)],
)
def test_kinds_with_their_own_limit(type_: str, first_refused: int | None) -> None:
    budget = FrameBudget.for_stats_every(2.0)
    verdicts = [budget.parsed(type_, 0.0) for _ in range(10)]
    refused = [i + 1 for i, v in enumerate(verdicts) if v is not Verdict.ACCEPT]
    assert (refused[0] if refused else None) == first_refused


def test_stats_limit_follows_the_interval_the_server_asks_for() -> None:
    fast = FrameBudget.for_stats_every(0.2)  # 5 a second asked: 10 a second allowed
    assert all(fast.parsed("stats", i * 0.1) is Verdict.ACCEPT for i in range(100))
