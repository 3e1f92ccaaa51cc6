"""Signaling under load: N sessions (2N sockets) on one ``duet serve``, against a bare Starlette relay.

What it measures, per server and size (issue 2's targets: 8,000 sessions, p99 < 25 ms per message,
p99 < 50 ms per connect, within 2x the CPU of a bare relay):

- **connect**: seconds from starting the WebSocket handshake to the ``welcome`` frame (also the part
  from sending ``join`` to ``welcome``), sockets opened at ``--rate`` per second (host then guest of
  each room, so every room pairs);
- **message**: seconds from sending a ``ping`` (with an ``id``, every ``--ping-every`` s per socket) to
  its ``pong``, over the steady period, while every socket sends a browser-shaped ``stats`` frame
  (web/js/stats.js ``statsFrame``: cumulative counters of a clean call) every 2 s. The server answers
  pings itself, so this is the queueing in its event loop under the stats load; the max is the
  longest stall seen;
- the server's **CPU** (utime + stime from /proc/PID/stat over the steady period, in CPU-seconds per
  second, all threads), its RSS and peak RSS, and its **GC pauses** (``gc.callbacks`` installed by a
  ``sitecustomize`` put on the child's PYTHONPATH; the server's code is unchanged);
- the load generator's own CPU and event-loop lag: on a small machine the generator competes with
  the server, and a late generator inflates both latencies.

The baseline relay (``bench/signaling_relay.py``) accepts, parses JSON, re-serialises, answers ``ping``
with ``pong``, ``stats`` with a small ``quality``, ``join`` with a small ``welcome``, and forwards every
other frame to the room's other socket, under the same uvicorn options as ``duet serve``. The servers
are started and sampled by ``bench/signaling_servers.py``, shared with ``bench/signaling_node.py``,
whose independent Node generator times more (stats → quality, on an absolute timetable): prefer it;
bench/README.md says why this generator's tails differ.

    .venv/bin/python bench/signaling_load.py                          # 1000 sessions, both servers
    .venv/bin/python bench/signaling_load.py --sessions 500,1000,2000 --duration 60
    .venv/bin/python bench/signaling_load.py --duet-only --sessions 2000 --py-spy /tmp/duet.txt

``--duet-root DIR`` runs duet from another checkout (``git archive HEAD | tar -x -C DIR``).
``--gc-threshold 50000,20,1000`` runs both servers with ``gc.set_threshold`` applied by the same hook: an
experiment on the collector without touching the server. Loopback only. Raises the open-file limit of
itself and its children to the hard limit.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import multiprocessing as mp
import os
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from python_generator import Outcome, Plan, Shared, generate
from signaling_servers import (
    Server,
    add_run_arguments,
    cpu_seconds,
    gc_summary,
    memory_mib,
    prepare_run,
    read_gc_log,
    start_py_spy,
    summarise_py_spy,
)

# --- one run -----------------------------------------------------------------------------------


@dataclass
class Figures:
    """One server at one size."""

    kind: str
    sessions: int
    connected: int
    connect_ms: tuple[float, float, float]
    join_ms: tuple[float, float, float]
    message_ms: tuple[float, float, float]
    pings: int
    unanswered: int
    cpu: float
    """Server CPU-seconds per second over the steady period."""
    rss_mib: float
    peak_mib: float
    gc: str
    gen_cpu: float
    gen_lag_ms: tuple[float, float]
    load: str
    errors: dict[str, int]


def quantiles(values: Sequence[float]) -> tuple[float, float, float]:
    """(p50, p99, max) in milliseconds."""
    if not values:
        return (float("nan"),) * 3  # type: ignore[return-value]
    ordered = sorted(values)
    at = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))]  # noqa: E731
    return at(0.5) * 1000, at(0.99) * 1000, ordered[-1] * 1000


async def run(kind: str, args: argparse.Namespace, sessions: int) -> Figures:
    with tempfile.TemporaryDirectory(prefix="duet-load-") as folder:
        server = Server(kind, Path(folder), args.gc_threshold, duet_root=args.duet_root)
        await server.start()
        try:
            return await _measure(server, args, sessions)
        finally:
            await server.stop()


async def _measure(server: Server, args: argparse.Namespace, sessions: int) -> Figures:
    made = time.monotonic()
    rooms = await server.make_rooms(sessions)
    if server.kind == "duet":
        print(f"  {sessions} rooms made in {time.monotonic() - made:.1f} s", flush=True)
    workers = max(1, min(args.workers, sessions))
    ramp_s = 2 * sessions / args.rate
    start_at = time.time() + 3.0  # the generators' start-up
    context = mp.get_context("spawn")
    shared = Shared(
        settled=context.Value("i", 0),
        steady_from=context.RawValue("d", float("inf")),
        steady_to=context.RawValue("d", float("inf")),
    )
    results = context.Queue()
    processes = []
    for w in range(workers):
        plan = Plan(
            ws_base=server.url.replace("http://", "ws://"),
            sessions=rooms[w::workers],
            start_at=start_at,
            rate=args.rate / workers,
            stats_every_s=args.stats_every,
            ping_every_s=args.ping_every,
            deflate=not args.no_deflate,
        )
        process = context.Process(target=generate, args=(plan, shared, results), daemon=True)
        process.start()
        processes.append(process)
    print(
        f"  {server.kind}: {2 * sessions} sockets at {args.rate:g}/s ({ramp_s:.0f} s ramp), "
        f"{workers} generator process(es)",
        flush=True,
    )
    deadline = start_at + ramp_s + 120
    while shared.settled.value < 2 * sessions and time.time() < deadline:  # noqa: ASYNC110 (other processes)
        await asyncio.sleep(0.1)
    ramp_took = time.time() - start_at
    steady_from = time.time() + args.settle
    steady_to = steady_from + args.duration
    shared.steady_from.value, shared.steady_to.value = steady_from, steady_to
    print(
        f"  all sockets welcomed or failed {ramp_took:.1f} s after the first opened "
        f"(the ramp alone is {ramp_s:.1f} s); steady for {args.duration:g} s after {args.settle:g} s",
        flush=True,
    )
    await asyncio.sleep(max(0.0, steady_from - time.time()))
    cpu_from, load_from = cpu_seconds(server.pid), os.getloadavg()
    gc_before = read_gc_log(server.gc_log)
    spy = (
        await start_py_spy(server.pid, args.duration - 1, args.py_spy)
        if args.py_spy and server.kind == "duet"
        else None
    )
    await asyncio.sleep(max(0.0, steady_to - time.time()))
    cpu = (cpu_seconds(server.pid) - cpu_from) / args.duration
    rss, peak = memory_mib(server.pid)
    load_to = os.getloadavg()
    await asyncio.sleep(0.6)  # the gc log is written every 0.5 s
    gc = gc_summary(gc_before, read_gc_log(server.gc_log), steady_from, steady_to)
    outcomes: list[Outcome] = [await asyncio.to_thread(results.get, True, 120) for _ in processes]
    for process in processes:
        await asyncio.to_thread(process.join, 30)
    if spy is not None:
        await spy.wait()
        summarise_py_spy(Path(args.py_spy))
    merged = Outcome()
    for o in outcomes:
        merged.connect_s += o.connect_s
        merged.join_s += o.join_s
        merged.ping_s += o.ping_s
        merged.lag_s += o.lag_s
        merged.pings_unanswered += o.pings_unanswered
        merged.cpu_s += o.cpu_s
        for error, n in o.errors.items():
            merged.errors[error] = merged.errors.get(error, 0) + n
    lag = quantiles(merged.lag_s)
    return Figures(
        kind=server.kind,
        sessions=sessions,
        connected=len(merged.connect_s),
        connect_ms=quantiles(merged.connect_s),
        join_ms=quantiles(merged.join_s),
        message_ms=quantiles(merged.ping_s),
        pings=len(merged.ping_s),
        unanswered=merged.pings_unanswered,
        cpu=cpu,
        rss_mib=rss,
        peak_mib=peak,
        gc=gc,
        gen_cpu=merged.cpu_s / args.duration,
        gen_lag_ms=(lag[1], lag[2]),
        load=f"{load_from[0]:.2f} -> {load_to[0]:.2f}",
        errors=merged.errors,
    )


def print_figures(all_figures: Sequence[Figures]) -> None:
    print(
        "\n| server | sessions | connected | connect p50/p99/max ms | join->welcome p50/p99/max ms "
        "| ping->pong p50/p99/max ms | pings (unanswered) | server CPU s/s | RSS / peak MiB "
        "| generator CPU s/s, loop lag p99/max ms | load (1-min) |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    fmt = lambda q: "/".join(f"{v:.1f}" for v in q)  # noqa: E731
    for f in all_figures:
        print(
            f"| {f.kind} | {f.sessions} | {f.connected}/{2 * f.sessions} | {fmt(f.connect_ms)} "
            f"| {fmt(f.join_ms)} | {fmt(f.message_ms)} | {f.pings} ({f.unanswered}) | {f.cpu:.2f} "
            f"| {f.rss_mib:.0f} / {f.peak_mib:.0f} "
            f"| {f.gen_cpu:.2f}, {f.gen_lag_ms[0]:.1f}/{f.gen_lag_ms[1]:.1f} "
            f"| {f.load} |"
        )
    for f in all_figures:
        print(f"{f.kind} {f.sessions}: GC {f.gc}" + (f"; errors {f.errors}" if f.errors else ""))
    by_size: dict[int, dict[str, Figures]] = collections.defaultdict(dict)
    for f in all_figures:
        by_size[f.sessions][f.kind] = f
    for size, pair in sorted(by_size.items()):
        if "duet" in pair and "relay" in pair and pair["relay"].cpu > 0:
            print(f"{size} sessions: duet uses {pair['duet'].cpu / pair['relay'].cpu:.1f}x the relay's CPU")


async def main_async(args: argparse.Namespace) -> None:
    kinds = ["duet"] * (not args.relay_only) + ["relay"] * (not args.duet_only)
    figures: list[Figures] = []
    for sessions in args.sessions:
        for kind in kinds:
            figures.append(await run(kind, args, sessions))
            print_figures(figures[-1:])
    if len(figures) > 1:
        print("\nAll runs:")
        print_figures(figures)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_run_arguments(parser, duration_s=30.0, ping_every_s=5.0)
    parser.add_argument("--workers", type=int, default=1, help="generator processes (default 1)")
    parser.add_argument("--no-deflate", action="store_true", help="do not offer permessage-deflate")
    args = parser.parse_args(argv)
    prepare_run(args)
    asyncio.run(main_async(args))


if __name__ == "__main__":
    main()
