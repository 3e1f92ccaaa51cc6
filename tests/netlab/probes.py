"""Measuring the lab's paths from the test process: ICMP echo and numbered UDP datagrams.

The sockets live in the lab's namespaces (see :meth:`Lab.socket`) but are driven by the
test's own event loop, so no ``ping`` binary or helper process is needed. Every probe
datagram carries its ``time.monotonic()`` send time; the clock is system-wide, so one-way
delays are exact.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import socket
import struct
import time
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from netlab.lab import Lab
    from netlab.topology import Node

__all__ = ["UDP_OVERHEAD_BYTES", "Arrival", "UdpSink", "ping", "send_udp"]

UDP_OVERHEAD_BYTES = 14 + 20 + 8
"""Bytes a UDP datagram's frame has beyond its payload: Ethernet, IPv4 and UDP headers."""

_PROBE = struct.Struct("!BIxxxd")  # kind, sequence number, padding, monotonic send time (s)
_DATA, _END = 1, 2
_ICMP_ECHO_REQUEST, _ICMP_ECHO_REPLY = 8, 0


def _checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total: int = sum(struct.unpack(f"!{len(data) // 2}H", data))
    total = (total >> 16) + (total & 0xFFFF)
    total += total >> 16
    return ~total & 0xFFFF


async def ping(
    lab: Lab, src: Node, dst_ip: str, *, count: int = 1, interval_s: float = 0.05, timeout_s: float = 1.0
) -> list[float | None]:
    """Send ``count`` ICMP echo requests from ``src`` to ``dst_ip``; the round-trip time of each in
    seconds, or ``None`` for those unanswered ``timeout_s`` after the last was sent.

    An unroutable ``dst_ip`` (no route in ``src``) counts as unanswered, like ``ping``'s
    "Network is unreachable".
    """
    loop = asyncio.get_running_loop()
    sock = lab.socket(src, socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    sock.setblocking(False)
    ident = random.getrandbits(16)  # tells our replies from other pings' in the same namespace
    sent: dict[int, float] = {}
    rtts: dict[int, float] = {}
    all_answered = asyncio.Event()

    async def receive() -> None:
        while True:
            packet = await loop.sock_recv(sock, 2048)
            now = time.monotonic()
            icmp = packet[(packet[0] & 0x0F) * 4 :]  # a raw IPv4 socket hands over the IP header too
            kind, _code, _sum, got_ident, seq = struct.unpack("!BBHHH", icmp[:8])
            if kind == _ICMP_ECHO_REPLY and got_ident == ident and seq in sent and seq not in rtts:
                rtts[seq] = now - sent[seq]
                if len(rtts) == count:
                    all_answered.set()

    receiver = asyncio.create_task(receive())
    try:
        for seq in range(count):
            if seq:
                await asyncio.sleep(interval_s)
            header = struct.pack("!BBHHH", _ICMP_ECHO_REQUEST, 0, 0, ident, seq)
            payload = b"duetlab-ping".ljust(32, b".")
            packet = header[:2] + struct.pack("!H", _checksum(header + payload)) + header[4:] + payload
            sent[seq] = time.monotonic()
            with contextlib.suppress(OSError):  # ENETUNREACH: no route from src
                await loop.sock_sendto(sock, packet, (dst_ip, 0))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(all_answered.wait(), timeout_s)
    finally:
        receiver.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await receiver
        sock.close()
    return [rtts.get(seq) for seq in range(count)]


async def send_udp(
    lab: Lab,
    src: Node,
    dst_ip: str,
    port: int,
    *,
    count: int,
    interval_s: float,
    payload_bytes: int = 200,
    first_seq: int = 0,
    end: bool = False,
) -> list[float]:
    """Send ``count`` numbered datagrams, one every ``interval_s`` seconds (paced against the clock,
    not sleep after sleep); return their send times. ``end=True`` sends one end marker instead,
    which makes a :class:`UdpSink` stop waiting."""
    if payload_bytes < _PROBE.size:
        raise ValueError(f"'payload_bytes' must be at least {_PROBE.size} (got {payload_bytes})")
    loop = asyncio.get_running_loop()
    sock = lab.socket(src, socket.AF_INET, socket.SOCK_DGRAM)
    sock.setblocking(False)
    sent: list[float] = []
    try:
        start = time.monotonic()
        for i in range(1 if end else count):
            delay = start + i * interval_s - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            now = time.monotonic()
            kind = _END if end else _DATA
            datagram = _PROBE.pack(kind, first_seq + i, now).ljust(payload_bytes, b"\0")
            await loop.sock_sendto(sock, datagram, (dst_ip, port))
            sent.append(now)
    finally:
        sock.close()
    return sent


@dataclass(frozen=True, slots=True)
class Arrival:
    """One probe datagram as received."""

    seq: int
    sent_at: float
    """``time.monotonic()`` at the sender (seconds)."""
    received_at: float
    """``time.monotonic()`` at the receiver (seconds)."""
    payload_bytes: int

    @property
    def one_way_s(self) -> float:
        """Time from send to receive, in seconds."""
        return self.received_at - self.sent_at

    @property
    def frame_bytes(self) -> int:
        """Length of the Ethernet frame that carried it (what the rate limit counts)."""
        return self.payload_bytes + UDP_OVERHEAD_BYTES


class UdpSink:
    """Collects probe datagrams arriving at ``node``'s UDP ``port`` until closed.

    Use as ``async with UdpSink(lab, "b", 9000) as sink:``; :meth:`wait_end` returns when the
    sender's end marker arrives (send it on a clean link: it queues behind the data, never
    overtaking it).
    """

    def __init__(self, lab: Lab, node: Node, port: int) -> None:
        self.arrivals: list[Arrival] = []
        self._sock = lab.socket(node, socket.AF_INET, socket.SOCK_DGRAM)
        self._sock.setblocking(False)
        self._sock.bind(("0.0.0.0", port))
        self._ended = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> UdpSink:
        self._task = asyncio.create_task(self._receive())
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._sock.close()

    async def wait_end(self, timeout_s: float) -> list[Arrival]:
        """Wait for the end marker (at most ``timeout_s``), then return the data datagrams received."""
        try:
            await asyncio.wait_for(self._ended.wait(), timeout_s)
        except TimeoutError:
            raise TimeoutError(
                f"no end marker within {timeout_s} s ({len(self.arrivals)} datagrams arrived before)"
            ) from None
        return self.arrivals

    def sequence_numbers(self) -> list[int]:
        """Sequence numbers in arrival order."""
        return [arrival.seq for arrival in self.arrivals]

    async def _receive(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            datagram = await loop.sock_recv(self._sock, 65536)
            now = time.monotonic()
            kind, seq, sent_at = _PROBE.unpack_from(datagram)
            if kind == _END:
                self._ended.set()
            else:
                self.arrivals.append(Arrival(seq, sent_at, now, len(datagram)))
