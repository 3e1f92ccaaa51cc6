"""What the impairment element does to one direction of the a↔b link, as values, and their wire form.

The lab (in the test process) and the impairer (a process inside the router namespace)
exchange these as JSON lines; :func:`impairment_to_wire` / :func:`impairment_from_wire`
are the only place that format is defined.
"""

from __future__ import annotations

import enum
import math
from dataclasses import asdict, dataclass, fields
from typing import Any, NamedTuple

__all__ = [
    "Change",
    "Direction",
    "Impairment",
    "LinkStats",
    "impairment_from_wire",
    "impairment_to_wire",
    "parse_directions",
]


class Direction(enum.StrEnum):
    """One direction of the participant link; frames from ``a`` to ``b`` are ``A_TO_B``."""

    A_TO_B = "a->b"
    B_TO_A = "b->a"


def parse_directions(value: str | Direction) -> tuple[Direction, ...]:
    """``"a->b"``, ``"b->a"`` or ``"both"`` as the directions it names."""
    if value == "both":
        return (Direction.A_TO_B, Direction.B_TO_A)
    try:
        return (Direction(value),)
    except ValueError:
        raise ValueError(f"direction must be in ['a->b', 'b->a', 'both'] (got {value!r})") from None


@dataclass(frozen=True, slots=True)
class Impairment:
    """The complete state of one direction; the default is a clean link.

    Order inside the element, per frame: outage, then the UDP block, then random loss, then the rate-limited
    bottleneck queue, then delay and jitter. Frames never overtake each other.
    """

    loss: float = 0.0
    """Probability (0 to 1) that a frame is dropped, independently of every other frame (Bernoulli)."""
    delay_ms: float = 0.0
    """One-way delay added to every frame, in milliseconds."""
    jitter_ms: float = 0.0
    """Each frame's delay is drawn uniformly from ``delay_ms ± jitter_ms`` (milliseconds, clamped at 0),
    like netem's default distribution; a frame is then held back if it would overtake the previous one
    (as WebRTC's own ``SimulatedNetwork`` does without ``allow_reordering``). Jitter thus never reorders,
    but the denser the traffic, the more delays bunch up towards ``delay_ms + jitter_ms``: frames 2 ms
    apart under 50 ± 30 ms average about 67 ms, frames 10 ms apart about 57 ms."""
    rate_kbps: float | None = None
    """Bottleneck rate in kbit/s (1 kbit = 1000 bit) over whole Ethernet frames; ``None``: unlimited."""
    queue_ms: float = 200.0
    """Size of the bottleneck's drop-tail queue, as milliseconds of traffic at ``rate_kbps`` (never
    less than one 1514-byte frame); a frame arriving at a fuller queue is dropped. Unused without a rate."""
    outage: bool = False
    """Drop everything, including frames already queued or in flight when the outage starts."""
    block_udp: bool = False
    """Drop every IPv4 UDP datagram and let everything else through: a firewall that allows only TCP
    (web browsing works, WebRTC over UDP does not)."""

    def __post_init__(self) -> None:
        if not 0.0 <= self.loss <= 1.0:
            raise ValueError(f"'loss' must be a probability in [0, 1] (got {self.loss!r})")
        for name in ("delay_ms", "jitter_ms", "queue_ms"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0):
                raise ValueError(f"'{name}' must be a finite number >= 0 (got {value!r})")
        if self.rate_kbps is not None and not (math.isfinite(self.rate_kbps) and self.rate_kbps > 0):
            raise ValueError(f"'rate_kbps' must be None or a finite number > 0 (got {self.rate_kbps!r})")

    @property
    def clean(self) -> bool:
        """True when this impairment changes nothing."""
        return self == Impairment(queue_ms=self.queue_ms)

    @property
    def queue_bytes(self) -> int | None:
        """Capacity of the bottleneck queue in bytes (``None`` without a rate limit)."""
        if self.rate_kbps is None:
            return None
        return max(1514, int(self.rate_kbps * 1000 / 8 * self.queue_ms / 1000))


def impairment_to_wire(impairment: Impairment) -> dict[str, Any]:
    """The JSON object for an :class:`Impairment`."""
    return asdict(impairment)


def impairment_from_wire(data: dict[str, Any]) -> Impairment:
    """An :class:`Impairment` from its JSON object; raises :class:`ValueError` on unknown or bad fields."""
    known = {f.name for f in fields(Impairment)}
    unknown = set(data) - known
    if unknown:
        raise ValueError(f"unknown impairment fields {sorted(unknown)} (expected some of {sorted(known)})")
    return Impairment(**data)


class Change(NamedTuple):
    """One applied change, as the element logged it."""

    at: float
    """``time.monotonic()`` (seconds, system-wide clock) when the element started applying it."""
    direction: Direction
    impairment: Impairment


@dataclass(frozen=True, slots=True)
class LinkStats:
    """Frame counters of one direction since the element started."""

    received: int = 0
    """Frames that entered the element in this direction."""
    forwarded: int = 0
    """Frames sent on towards the other participant."""
    dropped_outage: int = 0
    dropped_udp: int = 0
    """IPv4 UDP frames dropped while ``block_udp`` held."""
    dropped_loss: int = 0
    dropped_queue: int = 0
    """Frames that found the bottleneck queue full (drop-tail)."""
    dropped_oversize: int = 0
    """Frames too long to send (a sign that offloads were left on)."""
    queued: int = 0
    """Frames held in the element right now (bottleneck queue and delay line)."""

    @classmethod
    def from_wire(cls, data: dict[str, Any]) -> LinkStats:
        """Counters from their JSON object."""
        return cls(**{f.name: int(data.get(f.name, 0)) for f in fields(cls)})
