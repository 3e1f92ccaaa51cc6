"""Signaling under load from outside Python: the Node generator against duet and a bare relay.

``bench/loadgen`` (Node, the ``ws`` library) against ``duet serve`` and the bare Starlette relay,
one size after another.

Per server and size: the server starts as a child process with its own data folder
(``bench/signaling_servers.py``); duet's rooms are made through its REST API (the relay takes any
room id); ``node bench/loadgen/loadgen.mjs`` opens 2 sockets per session at ``--rate`` per second,
negotiates (~3 KB offer and answer, 8 candidates each way), then sends stats every 2 s and pings
every 10 s per socket; over its steady period this driver reads the server's CPU and memory from
/proc. One table per size:

- sockets welcomed, rooms negotiated (a room welcomed but never negotiated is described in the notes),
  unexpected closes (server-side closes and resets, by code, in the notes), steady-period stats and
  pings never answered;
- handshake p99 (TCP connect + WebSocket upgrade), join → welcome p99 (ramp);
- stats → quality p50/p99/max and ping → pong p99 (steady), timed from the actual send; the p99
  from the scheduled send is also printed: if it differs, the generator fell behind;
- the server's CPU-seconds per second and CPU per stats message (µs; everything the server did
  in the steady period divided by the stats frames sent in it), duet's ratio to the relay's;
- memory: KiB per welcomed socket (RSS at the end of the steady period minus RSS before the first
  socket, after the rooms were made), and RSS;
- the generator's own CPU (s/s) and event-loop lag p99/max, so a reader sees it was not the limit.

Under the table: the CPU the rest of the machine used meanwhile (/proc/stat), the seconds of the
steady period whose slowest reply took over 50 ms, each with the server's GC pauses that overlapped
it, and the server's GC over the steady period. A p99 at these sizes depends on a few stalls per
window: read it with the max and the stalled seconds (bench/README.md).

    npm install --prefix bench/loadgen
    .venv/bin/python bench/signaling_node.py --sessions 1000,2000,4000 --duration 40
    .venv/bin/python bench/signaling_node.py --duet-only --sessions 500 --duration 20 --ws wsproto

``--ws`` and ``--deflate/--no-deflate`` set uvicorn's WebSocket implementation and permessage-deflate
in both servers (default: each server's own choice); the generator offers deflate only with
``--client-deflate`` (browsers always offer it), so the servers' setting matters only then.
Loopback only; raises the open-file limit of itself and its children to the hard limit.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from signaling_servers import (
    Server,
    add_run_arguments,
    cpu_seconds,
    gc_summary,
    machine_busy_seconds,
    memory_mib,
    prepare_run,
    read_gc_log,
    start_py_spy,
    summarise_py_spy,
)

LOADGEN = Path(__file__).resolve().parent / "loadgen"
WS_CHOICES = ("default", "websockets", "websockets-sansio", "wsproto")


@dataclass
class Figures:
    """One server at one size, as the table shows it; ``generator`` is the Node generator's RESULT."""

    kind: str
    sessions: int
    variant: str
    """Extra load beside the sessions: ``+1 stalled`` (a pair whose host stops reading), ``+4 pre-call``."""
    ws: str
    """The ``--ws`` choice this run was made with (``default``: the server's own)."""
    layer: str
    """uvicorn's WebSocket protocol class and deflate setting in the server."""
    cpu: float
    """Server CPU-seconds per second over the steady period."""
    cpu_per_stats_us: float
    kib_per_socket: float
    rss_mib: float
    others: float
    """CPU-seconds per second the rest of the machine used in the steady period (neither server nor
    generator): on a shared machine, what the two competed with."""
    load: str
    gc: str
    stalls: str
    """Seconds of the steady period whose slowest reply took over the generator's threshold, each with
    the server's GC pauses that overlapped it."""
    generator: dict[str, Any]

    def latency(self, name: str, key: str) -> float | None:
        value: float | None = self.generator["latencyMs"].get(name, {}).get(key)
        return value

    @property
    def welcomed(self) -> int:
        return int(self.generator["sockets"]["welcomed"])

    @property
    def unexpected_closes(self) -> int:
        return sum(self.generator["unexpectedCloses"].values())


@dataclass(frozen=True)
class Extra:
    """Load beside the measured sessions: pairs whose host stops reading, pre-call tests running."""

    stalled: int = 0
    precall: int = 0

    @property
    def label(self) -> str:
        stalled = [f"+{self.stalled} stalled"] * bool(self.stalled)
        return " ".join(stalled + [f"+{self.precall} pre-call"] * bool(self.precall))


async def run(kind: str, ws: str, args: argparse.Namespace, sessions: int, extra: Extra = Extra()) -> Figures:
    with tempfile.TemporaryDirectory(prefix="duet-node-load-") as folder:
        server = Server(
            kind,
            Path(folder),
            args.gc_threshold,
            ws=None if ws == "default" else ws,
            deflate=args.deflate,
            duet_root=args.duet_root,
        )
        await server.start()
        try:
            return await _measure(server, ws, Path(folder), args, sessions, extra)
        finally:
            await server.stop()


async def _measure(
    server: Server, ws: str, folder: Path, args: argparse.Namespace, sessions: int, extra: Extra
) -> Figures:
    made = time.monotonic()
    rooms = await server.make_rooms(extra.stalled + sessions + extra.precall)
    rooms, checked = rooms[: extra.stalled + sessions], rooms[extra.stalled + sessions :]
    if server.kind == "duet":
        print(f"  {len(rooms) + len(checked)} rooms made in {time.monotonic() - made:.1f} s", flush=True)
    plan = folder / "plan.json"
    url = server.url.replace("http://", "ws://")
    plan.write_text(
        json.dumps({"url": url, "sessions": [{"room": r, "host": h, "guest": g} for r, h, g in rooms]})
    )
    rss_before = memory_mib(server.pid)[0]
    command = [
        args.node, str(LOADGEN / "loadgen.mjs"), "--plan", str(plan), "--rate", str(args.rate),
        "--duration", str(args.duration), "--settle", str(args.settle),
        "--stats-every", str(args.stats_every), "--ping-every", str(args.ping_every),
        "--stalled", str(extra.stalled),
    ] + ["--deflate"] * args.client_deflate  # fmt: skip
    what = f"{server.kind} ({server.layer}) {extra.label}"
    print(f"  {what}: {2 * sessions} sockets at {args.rate:g}/s", flush=True)
    precall: asyncio.Task[list[str]] | None = None
    node = await asyncio.create_subprocess_exec(
        *command,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "NO_PROXY": "*"},
    )
    echo = asyncio.create_task(_echo(node.stderr))
    steady: dict[str, Any] = {}
    result: dict[str, Any] | None = None
    spy: asyncio.subprocess.Process | None = None
    ramp_s = 2 * sessions / args.rate
    deadline = time.monotonic() + ramp_s + 120 + args.settle + args.duration + 60
    assert node.stdout is not None
    while result is None:
        line = (
            await asyncio.wait_for(node.stdout.readline(), max(1.0, deadline - time.monotonic()))
        ).decode()
        if not line:
            break
        if line.startswith("PHASE steady-start"):
            steady.update(cpu=cpu_seconds(server.pid), at=time.monotonic(), wall=time.time())
            steady.update(busy=machine_busy_seconds(), load=os.getloadavg()[0])
            steady["gc"] = read_gc_log(server.gc_log)
            if args.py_spy and server.kind == "duet":
                spy = await start_py_spy(server.pid, args.duration - 1, args.py_spy)
            if checked:
                until = time.monotonic() + args.duration
                urls = [f"{server.url}/s/{room}#t={host}" for room, host, _ in checked]
                precall = asyncio.create_task(_precall_tests(server, urls, until))
        elif line.startswith("PHASE steady-end"):
            steady.update(cpu_to=cpu_seconds(server.pid), to=time.monotonic(), wall_to=time.time())
            steady.update(busy_to=machine_busy_seconds(), load_to=os.getloadavg()[0])
            steady["rss"] = memory_mib(server.pid)[0]
        elif line.startswith("RESULT "):
            result = json.loads(line.removeprefix("RESULT "))
    await asyncio.wait_for(node.wait(), 30)
    await echo
    if result is None or "cpu_to" not in steady:
        raise RuntimeError(f"the generator ended without a result (exit {node.returncode})")
    verdicts = await precall if precall is not None else []
    await asyncio.sleep(0.6)  # the gc log is written every 0.5 s
    gc_log = read_gc_log(server.gc_log)
    gc = gc_summary(steady["gc"], gc_log, steady["wall"], steady["wall_to"])
    if spy is not None:
        await spy.wait()
        summarise_py_spy(Path(args.py_spy))
    cpu_s = steady["cpu_to"] - steady["cpu"]
    seconds = steady["to"] - steady["at"]
    generator_s = result["self"]["steady"]["cpu"] * seconds
    stats_sent = max(1, int(result["steady"]["sent"].get("stats", 0)))
    welcomed = max(1, int(result["sockets"]["welcomed"]))
    result["precall"] = _count(verdicts)
    return Figures(
        kind=server.kind,
        sessions=sessions,
        variant=extra.label,
        ws=ws,
        layer=server.layer,
        cpu=cpu_s / seconds,
        cpu_per_stats_us=1e6 * cpu_s / stats_sent,
        kib_per_socket=1024 * (steady["rss"] - rss_before) / welcomed,
        rss_mib=steady["rss"],
        others=max(0.0, steady["busy_to"] - steady["busy"] - cpu_s - generator_s) / seconds,
        load=f"{steady['load']:.2f} -> {steady['load_to']:.2f}",
        gc=gc,
        stalls=stalls_with_gc(result["stalls"], gc_log["long"]),
        generator=result,
    )


async def _echo(stream: asyncio.StreamReader | None) -> None:
    """The generator's progress and summary (its stderr), indented."""
    assert stream is not None
    async for line in stream:
        print("    " + line.decode(errors="replace").rstrip(), flush=True)


def stalls_with_gc(stalls: dict[str, Any], pauses: Sequence[Sequence[float]]) -> str:
    """``+12 s 228 ms (GC gen0 179 ms)`` per stalled second: a reply due in that second took ``maxMs``,
    and a GC pause (wall-clock end, generation, seconds) overlapped the time from the due time on."""
    words = []
    for stall in stalls["seconds"]:
        begin, end = stall["wallS"], stall["wallS"] + 1 + stall["maxMs"] / 1000
        gcs = [
            f"gen{int(gen)} {1000 * took:.0f} ms"
            for at, gen, took in pauses
            if at > begin and at - took < end
        ]
        words.append(f"+{stall['second']} s {stall['maxMs']} ms" + (f" (GC {', '.join(gcs)})" if gcs else ""))
    return f"{len(words)} seconds over {stalls['thresholdMs']} ms" + (
        f": {'; '.join(words)}" if words else ""
    )


COLUMNS = (
    "server", "socket layer", "welcomed", "rooms negotiated", "unexpected closes", "unanswered stats/pings",
    "handshake p99 ms", "join→welcome p99 ms", "stats→quality p50/p99/max ms",
    "stats→quality p99 from schedule ms", "ping p99 ms", "server CPU s/s", "CPU µs per stats", "x relay",
    "KiB per socket", "RSS MiB", "generator CPU s/s, loop lag p99/max ms",
)  # fmt: skip


def print_table(figures: Sequence[Figures]) -> None:
    """One table per size; duet's CPU per stats message as a ratio to the relay's (same size and --ws)."""
    relay = {(f.sessions, f.ws, f.variant): f for f in figures if f.kind == "relay"}
    for size in sorted({f.sessions for f in figures}):
        print(f"\n{size} sessions ({2 * size} sockets)\n\n| " + " | ".join(COLUMNS) + " |")
        print("|---" * len(COLUMNS) + "|")
        for f in (f for f in figures if f.sessions == size):
            base = relay.get((size, f.ws, f.variant)) or relay.get((size, f.ws, ""))
            ratio = f"{f.cpu_per_stats_us / base.cpu_per_stats_us:.2f}" if base and f.kind != "relay" else "-"
            g = f.generator
            own, unanswered, rooms = (
                g["self"]["steady"],
                g["steady"]["unanswered"],
                g["sockets"]["roomsNegotiated"],
            )
            stats = "/".join(_ms(f.latency("stats_quality", k)) for k in ("p50", "p99", "max"))
            print(
                f"| {f.kind} {f.variant} | {f.layer} | {f.welcomed}/{g['sockets']['planned']} "
                f"| {rooms}/{g['sockets']['rooms']} "
                f"| {f.unexpected_closes} | {unanswered['stats']}/{unanswered['pings']} "
                f"| {_ms(f.latency('handshake', 'p99'))} | {_ms(f.latency('join_welcome', 'p99'))} "
                f"| {stats} | {_ms(f.latency('stats_quality_from_schedule', 'p99'))} "
                f"| {_ms(f.latency('ping_pong', 'p99'))} | {f.cpu:.2f} | {f.cpu_per_stats_us:.0f} | {ratio} "
                f"| {f.kib_per_socket:.0f} | {f.rss_mib:.0f} "
                f"| {own['cpu']:.2f}, {own['lagP99Ms']:.1f}/{own['lagMaxMs']:.1f} |"
            )
        for f in (f for f in figures if f.sessions == size):
            noted = (
                "unexpectedCloses", "failures", "errors", "errorFrames", "unmatched", "notNegotiated",
                "stalled", "stalledCloses", "precall",
            )  # fmt: skip
            notes = {k: f.generator[k] for k in noted if f.generator[k]}
            print(f"{f.kind}: rest of the machine {f.others:.2f} CPU-s/s, load {f.load}")
            print(f"  stalls: {f.stalls}")
            print(f"  GC: {f.gc}" + (f"\n  {json.dumps(notes)}" if notes else ""))


async def _precall_tests(server: Server, urls: list[str], until: float) -> list[str]:
    """Back-to-back ``duet check`` runs (aiortc, a child process each) per join link until ``until``:
    each a pre-call test in the server's echo worker. They stand for browsers on other machines, so
    they run at the lowest priority (``nice -n 19``): on this 2-core machine they take only CPU the
    server and its echo worker leave. Returns each test's verdict (or how it failed)."""

    async def loop(url: str) -> list[str]:
        verdicts = []
        while time.monotonic() < until:
            check = await asyncio.create_subprocess_exec(
                "nice", "-n", "19", sys.executable, "-m", "app.cli", "check", url, "--json", cwd=server.root,
                env={**server.env, "PYTHONPATH": str(server.root)},
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
            )  # fmt: skip
            out, err = await check.communicate()
            try:
                verdicts.append(str(json.loads(out)["verdict"]))
            except (ValueError, KeyError, TypeError):
                verdicts.append(f"exit {check.returncode}: {err.decode(errors='replace').strip()[-120:]}")
        return verdicts

    return [v for each in await asyncio.gather(*(loop(u) for u in urls)) for v in each]


def _count(items: list[str]) -> dict[str, int]:
    return {item: items.count(item) for item in sorted(set(items))}


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


async def main_async(args: argparse.Namespace) -> None:
    kinds = ["duet"] * (not args.relay_only) + ["relay"] * (not args.duet_only)
    figures: list[Figures] = []
    for sessions in args.sessions:
        for ws in args.ws:
            for extra in args.extras:
                for kind in kinds if not extra.precall else ["duet"]:
                    figures.append(await run(kind, ws, args, sessions, extra))
                    print_table(figures[-1:])
                    if args.json:
                        with Path(args.json).open("a") as out:  # noqa: ASYNC230 (one line, between runs)
                            out.write(json.dumps(asdict(figures[-1])) + "\n")
    if len(figures) > 1:
        print("\nAll runs:")
        print_table(figures)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_run_arguments(parser, duration_s=40.0, ping_every_s=10.0)
    parser.add_argument(
        "--ws",
        default="default",
        help=f"uvicorn WebSocket implementation(s), comma-separated: {', '.join(WS_CHOICES)}",
    )
    parser.add_argument(
        "--deflate",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="servers accept permessage-deflate",
    )
    parser.add_argument(
        "--client-deflate", action="store_true", help="the generator offers permessage-deflate"
    )
    parser.add_argument("--json", metavar="FILE", help="append each run's figures as a JSON line")
    parser.add_argument("--node", default=shutil.which("node") or "node", help="the Node binary")
    parser.add_argument(
        "--stalled",
        default="0",
        help="comma-separated: one run each with N extra rooms whose host stops reading in the steady "
        "period while its guest sends it ~58 KB offers at 15/s (not timed), e.g. 0,1",
    )
    parser.add_argument(
        "--precall",
        default="0",
        help="comma-separated: one duet run each with N pre-call tests (duet check) back to back "
        "through the steady period, e.g. 0,4",
    )
    args = parser.parse_args(argv)
    args.ws = args.ws.split(",")
    args.extras = [Extra(stalled=int(n)) for n in args.stalled.split(",")]
    args.extras += [Extra(precall=int(n)) for n in args.precall.split(",") if int(n)]
    if unknown := set(args.ws) - set(WS_CHOICES):
        parser.error(f"--ws: unknown {sorted(unknown)}; choose from {', '.join(WS_CHOICES)}")
    if not (LOADGEN / "node_modules" / "ws").is_dir():
        sys.exit("the generator's dependency is missing: npm install --prefix bench/loadgen")
    prepare_run(args)
    asyncio.run(main_async(args))


if __name__ == "__main__":
    main()
