"""The Python load generator of ``bench/signaling_load.py``: one process's share of the sockets.

Run in one or more ``spawn``ed processes (``--workers``), each on uvloop with the ``websockets``
client. Each socket opens at its time, joins, and from ``welcome`` on sends a browser-shaped ``stats``
frame every ``stats_every_s`` and a ``ping`` every ``ping_every_s`` (random phases, each next send due
at the previous due time plus the interval). Only ``ping`` → ``pong`` is timed, from the moment the
ping is handed to the socket (after any lateness of the generator's own loop), and only for pings
sent in the steady period; ``stats`` answers are not read. It does not negotiate (no offer, answer
or candidates). ``bench/signaling_node.py`` times more, from outside Python; bench/README.md compares.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import resource
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from signaling_servers import raise_file_limit

__all__ = ["Outcome", "Plan", "Shared", "generate", "stats_frame"]


@dataclass(frozen=True)
class Plan:
    """One generator process's share. Times are wall-clock (``time.time()``) so processes agree."""

    ws_base: str
    sessions: list[tuple[str, str, str]]
    start_at: float
    rate: float
    """Sockets this process opens per second."""
    stats_every_s: float
    ping_every_s: float
    deflate: bool


@dataclass(frozen=True)
class Shared:
    """Shared between the parent and the generators: the parent opens the steady period (wall-clock
    seconds, infinite until set) once every socket has its ``welcome`` or has failed (``settled``)."""

    settled: Any
    steady_from: Any
    steady_to: Any

    def steady(self, at: float) -> bool:
        return bool(self.steady_from.value <= at <= self.steady_to.value)


@dataclass
class Outcome:
    """What one generator process saw."""

    connect_s: list[float] = field(default_factory=list)
    join_s: list[float] = field(default_factory=list)
    ping_s: list[float] = field(default_factory=list)
    pings_unanswered: int = 0
    errors: dict[str, int] = field(default_factory=dict)
    cpu_s: float = 0.0
    lag_s: list[float] = field(default_factory=list)
    """The generator's own event-loop lag, sampled every 50 ms over the steady period."""


def stats_frame(t: float) -> str:
    """A browser's ``stats`` frame ``t`` seconds into a clean call (web/js/stats.js ``statsFrame``)."""
    audio, video, samples = int(50 * t), int(120 * t), int(48_000 * t)
    return json.dumps(
        {
            "type": "stats",
            "inbound": {
                "audio": {
                    "packetsReceived": audio, "packetsLost": 0, "jitter": 0.004,
                    "bytesReceived": audio * 120, "jitterBufferDelay": samples * 0.038,
                    "jitterBufferEmittedCount": samples, "concealedSamples": 0,
                    "totalSamplesReceived": samples,
                },
                "video": {
                    "packetsReceived": video, "packetsLost": 0, "bytesReceived": video * 1100,
                    "framesDecoded": int(30 * t), "framesPerSecond": 30, "freezeCount": 0,
                    "totalFreezesDuration": 0.0,
                },
            },
            "outbound": {
                "audio": {"bytesSent": audio * 120},
                "video": {
                    "bytesSent": video * 1100, "framesSent": int(30 * t),
                    "qualityLimitationReason": "none", "targetBitrate": 1_000_000,
                },
            },
            "remoteInbound": {
                "audio": {"roundTripTime": 0.04, "fractionLost": 0.0},
                "video": {"roundTripTime": 0.04, "fractionLost": 0.0},
            },
            "candidatePair": {
                "currentRoundTripTime": 0.04, "availableOutgoingBitrate": 2_500_000,
                "localCandidateType": "host", "remoteCandidateType": "srflx",
            },
            "iceState": "connected", "connectionState": "connected", "sendingVideo": True,
        }
    )  # fmt: skip


def generate(plan: Plan, shared: Shared, results: Any) -> None:
    """A generator process: raise the file limit, run the plan on uvloop, put the outcome on ``results``."""
    import uvloop

    raise_file_limit()
    outcome = Outcome()
    try:
        uvloop.run(_generate(plan, shared, outcome))
    except Exception as exc:  # reported, not raised: the parent waits for every share
        outcome.errors[f"generator: {exc!r}"] = 1
    results.put(outcome)


async def _generate(plan: Plan, shared: Shared, out: Outcome) -> None:
    loop = asyncio.get_running_loop()
    start = plan.start_at - time.time() + loop.time()
    clients = [
        asyncio.create_task(_client(plan, shared, out, room_id, token, start + n / plan.rate))
        for n, (room_id, token) in enumerate(_sockets(plan.sessions))
    ]
    lag = asyncio.create_task(_watch_lag(out, shared))
    while shared.steady_from.value > time.time():  # noqa: ASYNC110 (set by another process)
        await asyncio.sleep(0.05)
    cpu_from = _own_cpu()
    await asyncio.sleep(max(0.0, shared.steady_to.value - time.time()))
    out.cpu_s = _own_cpu() - cpu_from
    lag.cancel()
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(asyncio.gather(*clients, return_exceptions=True), 30)


def _sockets(sessions: Sequence[tuple[str, str, str]]) -> Iterator[tuple[str, str]]:
    for room_id, host, guest in sessions:
        yield room_id, host
        yield room_id, guest


def _own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def _watch_lag(out: Outcome, shared: Shared) -> None:
    while True:
        at, before = time.time(), time.perf_counter()
        await asyncio.sleep(0.05)  # the sampling period
        if shared.steady(at):
            out.lag_s.append(time.perf_counter() - before - 0.05)


def _count(out: Outcome, error: str) -> None:
    out.errors[error] = out.errors.get(error, 0) + 1


def _settled(shared: Shared) -> None:
    with shared.settled.get_lock():
        shared.settled.value += 1


async def _client(plan: Plan, shared: Shared, out: Outcome, room_id: str, token: str, open_at: float) -> None:
    from websockets.asyncio.client import connect

    loop = asyncio.get_running_loop()
    await asyncio.sleep(max(0.0, open_at - loop.time()))
    began = time.perf_counter()  # uvloop's loop.time() has 1 ms resolution: latencies use perf_counter
    welcomed = False
    try:
        async with connect(
            f"{plan.ws_base}/s/{room_id}/ws",
            compression="deflate" if plan.deflate else None,
            open_timeout=60,
            close_timeout=2,
            ping_interval=None,  # the protocol's own pings are what is measured
            max_size=1024 * 1024,
            proxy=None,
        ) as ws:
            opened = time.perf_counter()
            await ws.send(json.dumps({"type": "join", "v": 1, "token": token}))
            first = await asyncio.wait_for(ws.recv(), 60)
            now = time.perf_counter()
            if '"welcome"' not in str(first):
                _count(out, f"no welcome: {str(first)[:80]}")
                return
            welcomed = True
            _settled(shared)
            out.connect_s.append(now - began)
            out.join_s.append(now - opened)
            sent: dict[int, float] = {}
            sender = asyncio.create_task(_send(plan, shared, ws, sent, loop.time()))
            try:
                async for frame in ws:
                    if '"pong"' in str(frame):
                        at = sent.pop(json.loads(frame).get("id"), None)
                        if at is not None:
                            out.ping_s.append(time.perf_counter() - at)
                    elif '"error"' in str(frame):
                        _count(out, f"error frame: {str(frame)[:100]}")
            finally:
                sender.cancel()
                await asyncio.gather(sender, return_exceptions=True)
            out.pings_unanswered += len(sent)
    except Exception as exc:
        _count(out, type(exc).__name__ + (" after welcome" if welcomed else " before welcome"))
    finally:
        if not welcomed:
            _settled(shared)


async def _send(plan: Plan, shared: Shared, ws: Any, sent: dict[int, float], welcomed: float) -> None:
    """Stats every ``stats_every_s`` and pings every ``ping_every_s``, at random phases, until the end of
    the steady period; then closes the socket."""
    loop = asyncio.get_running_loop()
    next_stats = welcomed + random.uniform(0, plan.stats_every_s)
    next_ping = welcomed + random.uniform(0, plan.ping_every_s)
    ping_id = 0
    while True:
        due = min(next_stats, next_ping)
        if due - loop.time() + time.time() > shared.steady_to.value:
            break
        await asyncio.sleep(max(0.0, due - loop.time()))
        now = loop.time()
        if now >= next_stats:
            await ws.send(stats_frame(now - welcomed))
            next_stats += plan.stats_every_s
        if now >= next_ping:
            ping_id += 1
            if shared.steady(time.time()):  # only steady-period pings are timed
                sent[ping_id] = time.perf_counter()
            await ws.send(json.dumps({"type": "ping", "id": ping_id}))
            next_ping += plan.ping_every_s
    await asyncio.sleep(1.0)  # let the last pongs arrive
    await ws.close()
