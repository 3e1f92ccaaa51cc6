"""The impairment element: a two-port userspace bridge that impairs each direction on its own.

Run inside the router namespace, one raw ``AF_PACKET`` socket per port::

    python -m netlab.impairer --a-port to-a --b-port to-b

A frame that arrives on the ``a`` port goes out of the ``b`` port through the ``a->b``
:class:`Pipe`, and the other way round; ARP crosses too. Control is JSON lines on stdin,
answers are JSON lines on stdout (end of stdin stops the element)::

    {"op": "set", "id": 1, "directions": ["a->b"], "impairment": {...}, "at": 1234.5}
      -> {"event": "applied", "id": 1, "at": 1234.5002, "directions": [...], "impairment": {...}}
    {"op": "stats", "id": 2}
      -> {"event": "stats", "id": 2, "at": ..., "stats": {"a->b": {...}, "b->a": {...}}}

``at`` (optional) is a ``time.monotonic()`` value; the change waits for it, so a whole
schedule can be handed over at once and is applied with millisecond precision whatever
the test process is busy with. Each ``applied`` line carries the monotonic time the change
took effect. The CPU cost is about 17 µs per frame.
"""

from __future__ import annotations

import argparse
import heapq
import itertools
import json
import os
import random
import selectors
import socket
import sys
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import asdict, fields
from typing import Any

from netlab.impairment import Direction, Impairment, LinkStats, impairment_from_wire, impairment_to_wire

__all__ = ["MAX_FRAME_BYTES", "Pipe", "is_ipv4_udp", "main"]

MAX_FRAME_BYTES = 1514
"""Longest frame a 1500-byte-MTU Ethernet port sends: MTU plus the 14-byte header (no FCS, no VLAN)."""

_ETH_P_ALL = 0x0003
_SOL_PACKET = 263
_PACKET_IGNORE_OUTGOING = 23  # <linux/if_packet.h>, Linux ≥ 4.20
_PACKET_OUTGOING = 4
_SOCKET_BUFFER_BYTES = 4 * 1024 * 1024  # room for ~2,700 full frames if the loop stalls for a moment
_RECV_BATCH = 64  # frames read per port before the loop looks at the other one


class Pipe:
    """One direction of the element: outage → loss → bottleneck queue → delay line. No IO.

    ``now`` is passed in everywhere (monotonic seconds), so this is tested without sockets
    or clocks. Frames leave in arrival order: the bottleneck is FIFO and a jittered
    release time is never earlier than the previous frame's.
    """

    def __init__(self, rng: random.Random | None = None) -> None:
        self.impairment = Impairment()
        self._rng = rng or random.Random()
        self._line: deque[tuple[float, bytes]] = deque()  # (release time, frame), release times ascending
        self._link_free_at = 0.0  # when the bottleneck finishes sending everything it accepted
        self._last_release = 0.0
        self._counts = {f.name: 0 for f in fields(LinkStats) if f.name != "queued"}

    @property
    def stats(self) -> LinkStats:
        """Counters since start, with the frames held right now."""
        return LinkStats(**self._counts, queued=len(self._line))

    def set(self, impairment: Impairment, now: float) -> None:
        """Switch to ``impairment``; frames already accepted keep their release times, except that
        an outage drops them all."""
        self.impairment = impairment
        if impairment.outage:
            self._counts["dropped_outage"] += len(self._line)
            self._line.clear()
            self._link_free_at = now

    def offer(self, frame: bytes, now: float) -> None:
        """A frame arrives at ``now``: drop it, or give it a release time."""
        counts, imp = self._counts, self.impairment
        counts["received"] += 1
        if len(frame) > MAX_FRAME_BYTES:
            counts["dropped_oversize"] += 1
            return
        if imp.outage:
            counts["dropped_outage"] += 1
            return
        if imp.block_udp and is_ipv4_udp(frame):
            counts["dropped_udp"] += 1
            return
        if imp.loss and self._rng.random() < imp.loss:
            counts["dropped_loss"] += 1
            return
        departs = now
        if imp.rate_kbps is not None:
            bytes_per_s = imp.rate_kbps * 1000 / 8
            backlog_bytes = max(0.0, self._link_free_at - now) * bytes_per_s
            if backlog_bytes + len(frame) > (imp.queue_bytes or 0):
                counts["dropped_queue"] += 1
                return
            departs = max(now, self._link_free_at) + len(frame) / bytes_per_s  # last bit leaves
            self._link_free_at = departs
        delay_ms = imp.delay_ms
        if imp.jitter_ms:
            delay_ms = max(0.0, delay_ms + self._rng.uniform(-imp.jitter_ms, imp.jitter_ms))
        release = max(departs + delay_ms / 1000, self._last_release)
        self._last_release = release
        self._line.append((release, frame))

    def next_release(self) -> float | None:
        """When the next held frame is due (monotonic seconds), or ``None`` if none is held."""
        return self._line[0][0] if self._line else None

    def due(self, now: float) -> list[bytes]:
        """Remove and return, in order, every frame whose release time has come."""
        out = []
        while self._line and self._line[0][0] <= now:
            out.append(self._line.popleft()[1])
        self._counts["forwarded"] += len(out)
        return out


_ETHERTYPE_IPV4 = b"\x08\x00"
_IPPROTO_UDP = 17


def is_ipv4_udp(frame: bytes) -> bool:
    """Whether an Ethernet II frame carries an IPv4 UDP datagram (ethertype 0x0800, protocol 17)."""
    return len(frame) >= 24 and frame[12:14] == _ETHERTYPE_IPV4 and frame[14 + 9] == _IPPROTO_UDP


def _open_port(device: str) -> socket.socket:
    # Protocol 0 at creation receives nothing; bind() then hooks this one device for every protocol,
    # so no frame from another device slips in between socket() and bind().
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)
    sock.setsockopt(_SOL_PACKET, _PACKET_IGNORE_OUTGOING, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, _SOCKET_BUFFER_BYTES)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, _SOCKET_BUFFER_BYTES)
    sock.bind((device, _ETH_P_ALL))
    sock.setblocking(False)
    return sock


class _Element:
    """The IO shell around two pipes: sockets, the control channel and the timer for scheduled changes."""

    def __init__(self, a_port: str, b_port: str) -> None:
        self.ports = {Direction.A_TO_B: _open_port(a_port), Direction.B_TO_A: _open_port(b_port)}
        # Frames received on the a port travel a->b and are sent on the b port.
        self.out = {
            Direction.A_TO_B: self.ports[Direction.B_TO_A],
            Direction.B_TO_A: self.ports[Direction.A_TO_B],
        }
        self.pipes = {direction: Pipe() for direction in Direction}
        self.pending: list[tuple[float, int, dict[str, Any]]] = []  # heap of (at, order, command)
        self.order = itertools.count()
        self.control = b""
        self.running = True

    def say(self, message: dict[str, Any]) -> None:
        sys.stdout.write(json.dumps(message) + "\n")
        sys.stdout.flush()

    def read_control(self) -> None:
        chunk = os.read(sys.stdin.fileno(), 65536)
        if not chunk:
            self.running = False
            return
        self.control += chunk
        *lines, self.control = self.control.split(b"\n")
        for line in lines:
            if line.strip():
                self.command(json.loads(line))

    def command(self, cmd: dict[str, Any]) -> None:
        try:
            if cmd["op"] == "stats":
                stats = {str(d): asdict(pipe.stats) for d, pipe in self.pipes.items()}
                self.say({"event": "stats", "id": cmd["id"], "at": time.monotonic(), "stats": stats})
            elif cmd["op"] == "set":
                impairment_from_wire(cmd["impairment"])  # refuse a bad command now, not when it is due
                for direction in cmd["directions"]:
                    Direction(direction)
                at = cmd.get("at") or 0.0
                heapq.heappush(self.pending, (at, next(self.order), cmd))
            else:
                raise ValueError(f"'op' must be in ['set', 'stats'] (got {cmd['op']!r})")
        except (KeyError, ValueError, TypeError) as error:
            self.say({"event": "error", "id": cmd.get("id"), "message": f"{type(error).__name__}: {error}"})

    def apply_due_changes(self) -> None:
        while self.pending and self.pending[0][0] <= time.monotonic():
            _, _, cmd = heapq.heappop(self.pending)
            impairment = impairment_from_wire(cmd["impairment"])
            now = time.monotonic()
            for direction in cmd["directions"]:
                self.pipes[Direction(direction)].set(impairment, now)
            self.say(
                {
                    "event": "applied",
                    "id": cmd["id"],
                    "at": now,
                    "directions": cmd["directions"],
                    "impairment": impairment_to_wire(impairment),
                }
            )

    def receive(self, direction: Direction) -> None:
        sock, pipe = self.ports[direction], self.pipes[direction]
        for _ in range(_RECV_BATCH):
            try:
                frame, address = sock.recvfrom(65536)
            except BlockingIOError:
                return
            if address[2] != _PACKET_OUTGOING:  # belt and braces: PACKET_IGNORE_OUTGOING hides them
                pipe.offer(frame, time.monotonic())

    def send_due(self) -> None:
        now = time.monotonic()
        for direction, pipe in self.pipes.items():
            for frame in pipe.due(now):
                try:
                    self.out[direction].send(frame)
                except OSError as error:  # ENOBUFS under a burst: the frame is lost, as on a real link
                    print(f"impairer: {direction} send failed: {error}", file=sys.stderr)

    def next_deadline(self) -> float | None:
        times = [t for t in (p.next_release() for p in self.pipes.values()) if t is not None]
        if self.pending:
            times.append(self.pending[0][0])
        return min(times) if times else None

    def run(self) -> None:
        selector = (
            selectors.SelectSelector()
        )  # select() sleeps to the microsecond, epoll only to the millisecond
        for direction, sock in self.ports.items():
            selector.register(sock, selectors.EVENT_READ, direction)
        selector.register(sys.stdin.fileno(), selectors.EVENT_READ, None)
        self.say({"event": "ready", "at": time.monotonic(), "pid": os.getpid()})
        while self.running:
            deadline = self.next_deadline()
            timeout = None if deadline is None else max(0.0, deadline - time.monotonic())
            for key, _ in selector.select(timeout):
                if key.data is None:
                    self.read_control()
                else:
                    self.receive(key.data)
            self.apply_due_changes()
            self.send_due()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--a-port", required=True, help="device facing participant a")
    parser.add_argument("--b-port", required=True, help="device facing participant b")
    args = parser.parse_args(argv)
    _Element(args.a_port, args.b_port).run()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
