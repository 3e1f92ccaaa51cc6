"""The impairment element's pure core (:class:`Pipe`) and the impairment values, without sockets or clocks."""

from __future__ import annotations

import random

import pytest

from netlab.impairer import MAX_FRAME_BYTES, Pipe
from netlab.impairment import (
    Direction,
    Impairment,
    impairment_from_wire,
    impairment_to_wire,
    parse_directions,
)


def _pipe(impairment: Impairment, seed: int = 1) -> Pipe:
    pipe = Pipe(random.Random(seed))
    pipe.set(impairment, now=0.0)
    return pipe


def _releases(pipe: Pipe, frames: list[tuple[float, int]], until: float = 100.0) -> list[float]:
    """Offer (time, size) frames, then step the clock in 0.1 ms ticks and note when each leaves."""
    for at, size in frames:
        pipe.offer(bytes(size), at)
    out: list[float] = []
    tick = 0.0
    while tick <= until and pipe.next_release() is not None:
        next_release = pipe.next_release()
        assert next_release is not None
        tick = next_release
        out.extend(tick for _ in pipe.due(tick))
    return out


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"loss": 1.5}, "'loss' must be a probability in [0, 1] (got 1.5)"),
        ({"delay_ms": -1}, "'delay_ms' must be a finite number >= 0 (got -1)"),
        ({"jitter_ms": float("nan")}, "'jitter_ms' must be a finite number >= 0 (got nan)"),
        ({"rate_kbps": 0}, "'rate_kbps' must be None or a finite number > 0 (got 0)"),
    ],
)
def test_impairment_refuses_nonsense(fields: dict[str, float], message: str) -> None:
    with pytest.raises(ValueError) as caught:
        Impairment(**fields)  # type: ignore[arg-type]
    assert str(caught.value) == message


def test_impairment_wire_round_trip_and_unknown_fields() -> None:
    impairment = Impairment(loss=0.1, delay_ms=80, jitter_ms=10, rate_kbps=300, queue_ms=100, outage=True)
    assert impairment_from_wire(impairment_to_wire(impairment)) == impairment
    with pytest.raises(ValueError, match=r"unknown impairment fields \['latency'\]"):
        impairment_from_wire({"latency": 5})


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("a->b", (Direction.A_TO_B,)),
        ("b->a", (Direction.B_TO_A,)),
        ("both", (Direction.A_TO_B, Direction.B_TO_A)),
    ],
)
def test_parse_directions(value: str, expected: tuple[Direction, ...]) -> None:
    assert parse_directions(value) == expected


def test_parse_directions_names_the_choices() -> None:
    with pytest.raises(ValueError, match=r"direction must be in \['a->b', 'b->a', 'both'\] \(got 'a<-b'\)"):
        parse_directions("a<-b")


@pytest.mark.parametrize(
    ("impairment", "expected"),
    [
        (Impairment(), 1514),  # no rate: the field is unused, reported as None below
        (Impairment(rate_kbps=100, queue_ms=200), 2500),  # 100 kbit/s x 0.2 s = 20 kbit
        (Impairment(rate_kbps=10, queue_ms=100), 1514),  # never less than one full frame
    ],
)
def test_queue_bytes(impairment: Impairment, expected: int) -> None:
    assert impairment.queue_bytes == (None if impairment.rate_kbps is None else expected)


def test_clean_pipe_forwards_at_once() -> None:
    pipe = _pipe(Impairment())
    pipe.offer(b"x" * 100, 5.0)
    assert pipe.next_release() == 5.0 and pipe.due(5.0) == [b"x" * 100]
    assert pipe.stats.received == pipe.stats.forwarded == 1


def test_delay_holds_every_frame() -> None:
    assert _releases(_pipe(Impairment(delay_ms=100)), [(1.0, 100), (1.5, 100)]) == pytest.approx([1.1, 1.6])


def test_jitter_spreads_delays_but_never_reorders() -> None:
    pipe = _pipe(Impairment(delay_ms=50, jitter_ms=30))
    sent = [i * 0.002 for i in range(500)]
    released = _releases(pipe, [(t, 100) for t in sent])
    delays = [r - s for r, s in zip(released, sent, strict=True)]
    assert released == sorted(released)
    assert min(delays) >= 0.020 - 1e-9 and max(delays) <= 0.080 + 1e-9
    assert max(delays) - min(delays) > 0.045  # the ±30 ms really spreads them


def test_rate_limit_serialises_frames_and_drops_at_the_tail() -> None:
    # 100 kbit/s = 12,500 B/s: a 1,250-byte frame takes 0.1 s; the queue holds 0.25 s = 3,125 bytes.
    pipe = _pipe(Impairment(rate_kbps=100, queue_ms=250))
    released = _releases(pipe, [(0.0, 1250)] * 5)
    assert released == pytest.approx([0.1, 0.2])  # third would make 3,750 queued bytes: dropped, and so on
    assert (pipe.stats.dropped_queue, pipe.stats.forwarded) == (3, 2)


def test_loss_is_bernoulli_with_the_given_probability() -> None:
    pipe = _pipe(Impairment(loss=0.3), seed=7)
    for i in range(10_000):
        pipe.offer(b"x", i * 0.001)
    assert 2_800 < pipe.stats.dropped_loss < 3_200  # 3,000 ± 4.4 sigma


def test_outage_drops_new_and_held_frames_and_ends_cleanly() -> None:
    pipe = _pipe(Impairment(delay_ms=100))
    pipe.offer(b"held", 0.0)
    pipe.set(Impairment(outage=True), now=0.05)
    pipe.offer(b"new", 0.06)
    assert pipe.next_release() is None and pipe.stats.dropped_outage == 2
    pipe.set(Impairment(), now=0.2)
    pipe.offer(b"after", 0.2)
    assert pipe.due(0.2) == [b"after"]


def test_oversized_frames_are_counted_not_sent() -> None:
    pipe = _pipe(Impairment())
    pipe.offer(bytes(MAX_FRAME_BYTES + 1), 0.0)
    assert pipe.stats.dropped_oversize == 1 and pipe.next_release() is None


def _ipv4_frame(protocol: int) -> bytes:
    """An Ethernet II frame holding a minimal IPv4 header with ``protocol`` (6 TCP, 17 UDP)."""
    header = bytearray(20)
    header[0], header[9] = 0x45, protocol
    return bytes(12) + b"\x08\x00" + bytes(header) + bytes(26)


def test_blocking_udp_drops_udp_and_passes_tcp() -> None:
    pipe = _pipe(Impairment(block_udp=True))
    pipe.offer(_ipv4_frame(17), 0.0)
    pipe.offer(_ipv4_frame(6), 0.0)
    pipe.offer(bytes(12) + b"\x08\x06" + bytes(46), 0.0)  # ARP: not IP at all
    assert len(pipe.due(1.0)) == 2
    assert (pipe.stats.dropped_udp, pipe.stats.forwarded) == (1, 2)
    pipe.set(Impairment(), now=1.0)  # lifted: UDP passes again
    pipe.offer(_ipv4_frame(17), 1.0)
    assert len(pipe.due(2.0)) == 1
