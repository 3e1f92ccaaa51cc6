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

The baseline relay (``relay_app``) accepts, parses JSON, re-serialises, answers ``ping`` with
``pong``, ``join`` with a small ``welcome``, and forwards every other frame to the room's other socket,
under the same uvicorn options as ``duet serve`` (websockets implementation, permessage-deflate,
access log at info).

    .venv/bin/python bench/signaling_load.py                          # 1000 sessions, both servers
    .venv/bin/python bench/signaling_load.py --sessions 500,1000,2000 --duration 60
    .venv/bin/python bench/signaling_load.py --duet-only --sessions 2000 --py-spy /tmp/duet.txt

``--gc-threshold 50000,20,1000`` runs both servers with ``gc.set_threshold`` applied by the same hook: an
experiment on the collector without touching the server. Loopback only. Raises the open-file limit of
itself and its children to the hard limit.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import json
import multiprocessing as mp
import os
import random
import resource
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DUET = shutil.which("duet", path=str(Path(sys.executable).parent)) or "duet"
CLK_TCK = os.sysconf("SC_CLK_TCK")

_GC_HOOK = """\
import gc, json, os, threading, time
_path = os.environ.get("BENCH_GC_LOG")
if _path:
    _totals = {0: [0, 0.0, 0.0], 1: [0, 0.0, 0.0], 2: [0, 0.0, 0.0]}  # count, seconds, max seconds
    _long = []  # (wall-clock end, generation, seconds) of pauses >= 1 ms
    _began = [0.0]
    def _on_gc(phase, info):
        if phase == "start":
            _began[0] = time.perf_counter()
            return
        took, gen = time.perf_counter() - _began[0], info["generation"]
        t = _totals[gen]
        t[0] += 1; t[1] += took; t[2] = max(t[2], took)
        if took >= 0.001 and len(_long) < 100000:
            _long.append((time.time(), gen, took))
    gc.callbacks.append(_on_gc)
    if os.environ.get("BENCH_GC_THRESHOLD"):  # an experiment: the collector tuned from outside the server
        gc.set_threshold(*(int(v) for v in os.environ["BENCH_GC_THRESHOLD"].split(",")))
    def _dump():
        while True:
            time.sleep(0.5)
            with open(_path + ".tmp", "w") as f:
                json.dump({"at": time.time(), "totals": _totals, "long": _long[-2000:]}, f)
            os.replace(_path + ".tmp", _path)
    threading.Thread(target=_dump, name="bench-gc-log", daemon=True).start()
"""


# --- the baseline relay ------------------------------------------------------------------


def relay_app() -> Any:
    """A bare Starlette relay: parse, re-serialise, pong pings, forward the rest to the room's peer."""
    from starlette.applications import Starlette
    from starlette.routing import WebSocketRoute
    from starlette.websockets import WebSocket, WebSocketDisconnect

    rooms: dict[str, list[WebSocket]] = {}

    async def socket(ws: WebSocket) -> None:
        await ws.accept()
        room_id = str(ws.path_params["room_id"])
        peers = rooms.setdefault(room_id, [])
        try:
            while True:
                frame = json.loads(await ws.receive_text())
                kind = frame.get("type")
                if kind == "join":  # seated once welcomed, so nothing of the peer's arrives before
                    await ws.send_text(json.dumps({"type": "welcome", "v": 1, "room": {"id": room_id}}))
                    peers.append(ws)
                elif kind == "ping":
                    await ws.send_text(json.dumps({"type": "pong", "id": frame.get("id")}))
                else:
                    for peer in [p for p in peers if p is not ws]:
                        await peer.send_text(json.dumps(frame))
        except WebSocketDisconnect:
            pass
        finally:
            if ws in peers:
                peers.remove(ws)
            if not peers:
                rooms.pop(room_id, None)

    return Starlette(routes=[WebSocketRoute("/s/{room_id}/ws", socket)])


def serve_relay(port: int) -> None:
    import uvicorn

    # The same options as ``duet serve`` (app/cli.py), so the difference is duet's own code.
    uvicorn.run(
        relay_app(),
        host="127.0.0.1",
        port=port,
        ws_max_size=1024 * 1024,
        proxy_headers=True,
        log_level="info",
    )


# --- the servers as child processes --------------------------------------------------------


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    """``duet serve`` or the relay, as a child process on a free loopback port; its log is drained."""

    def __init__(self, kind: str, folder: Path, gc_threshold: str = "") -> None:
        self.kind, self.port = kind, free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        hooks = folder / "hooks"
        hooks.mkdir()
        (hooks / "sitecustomize.py").write_text(_GC_HOOK)
        self.gc_log = folder / f"gc-{kind}.json"
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("DUET_")}
        self.env.update(
            DUET_DATA_DIR=str(folder / "data"),
            DUET_PORT=str(self.port),
            NO_PROXY="*",
            PYTHONPATH=os.pathsep.join([str(hooks), str(ROOT)]),
            BENCH_GC_LOG=str(self.gc_log),
            BENCH_GC_THRESHOLD=gc_threshold,
        )
        self.log: collections.deque[str] = collections.deque(maxlen=200)
        self.process: asyncio.subprocess.Process | None = None
        self._drain: asyncio.Task[None] | None = None

    async def start(self) -> None:
        if self.kind == "duet":
            command = [DUET, "serve"]
        else:
            command = [sys.executable, __file__, "--serve-relay", str(self.port)]
        self.process = await asyncio.create_subprocess_exec(
            *command, env=self.env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
        )
        listening = asyncio.Event()
        self._drain = asyncio.create_task(self._watch(listening))
        await asyncio.wait_for(listening.wait(), 60)

    async def _watch(self, listening: asyncio.Event) -> None:
        assert self.process is not None and self.process.stdout is not None
        async for line in self.process.stdout:  # a full pipe would stall the server
            self.log.append(line.decode(errors="replace").rstrip())
            if b"Uvicorn running on" in line:
                listening.set()

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    async def stop(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.terminate()
            try:
                await asyncio.wait_for(self.process.wait(), 20)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()
        if self._drain is not None:
            self._drain.cancel()
            await asyncio.gather(self._drain, return_exceptions=True)

    async def make_rooms(self, count: int) -> list[tuple[str, str, str]]:
        """``(room_id, host_token, guest_token)`` per session: duet's API, or made-up ones for the relay."""
        if self.kind != "duet":
            return [(f"r{i}", "x", "x") for i in range(count)]
        import httpx

        made = await asyncio.create_subprocess_exec(
            DUET, "apikey", "create", "bench", env=self.env,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        out, err = await asyncio.wait_for(made.communicate(), 60)
        if made.returncode != 0:
            raise RuntimeError(err.decode())
        headers = {"Authorization": f"Bearer {out.decode().strip()}"}
        body = {"title": "bench", "host": {"name": "Ana"}, "guest": {"name": "Ben"}}
        gate = asyncio.Semaphore(8)
        async with httpx.AsyncClient(base_url=self.url, headers=headers, timeout=60, trust_env=False) as api:

            async def one() -> tuple[str, str, str]:
                async with gate:
                    response = await api.post("/v1/rooms", json=body)
                response.raise_for_status()
                room = response.json()
                urls = room["join_urls"]
                return room["id"], urls["host"].split("#t=")[1], urls["guest"].split("#t=")[1]

            return list(await asyncio.gather(*(one() for _ in range(count))))


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process (all its threads), in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def memory_mib(pid: int) -> tuple[float, float]:
    """(RSS, peak RSS) in MiB."""
    status = dict(
        line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line
    )
    return int(status["VmRSS"].split()[0]) / 1024, int(status["VmHWM"].split()[0]) / 1024


# --- the load generator (one or more processes) ----------------------------------------------


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

    _raise_file_limit()
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


def _raise_file_limit() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


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


def read_gc_log(path: Path) -> dict[str, Any]:
    try:
        log: dict[str, Any] = json.loads(path.read_text())
        return log
    except (OSError, ValueError):
        return {"totals": {g: [0, 0.0, 0.0] for g in "012"}, "long": []}


def gc_summary(before: dict[str, Any], after: dict[str, Any], since: float, until: float) -> str:
    """The steady period's collector: share of time per generation, pauses over 1 ms, the longest."""
    took = {g: after["totals"][g][1] - before["totals"][g][1] for g in "012"}
    runs = {g: after["totals"][g][0] - before["totals"][g][0] for g in "012"}
    pauses = [(gen, s) for at, gen, s in after["long"] if since <= at <= until]
    longest = max(pauses, key=lambda p: p[1], default=(0, 0.0))
    share = ", ".join(f"gen{g} {runs[g]} runs {took[g]:.2f} s" for g in "012")
    return (
        f"{share}; {len(pauses)} pauses >= 1 ms, longest {longest[1] * 1000:.0f} ms (gen{longest[0]}); "
        f"whole run: gen2 {after['totals']['2'][0]} runs, longest {after['totals']['2'][2] * 1000:.0f} ms"
    )


async def run(kind: str, args: argparse.Namespace, sessions: int) -> Figures:
    with tempfile.TemporaryDirectory(prefix="duet-load-") as folder:
        server = Server(kind, Path(folder), args.gc_threshold)
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
    spy = await _py_spy(server.pid, args) if args.py_spy and server.kind == "duet" else None
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


async def _py_spy(pid: int, args: argparse.Namespace) -> asyncio.subprocess.Process:
    """Sample the server over the steady period (``--nonblocking``: the server is not paused)."""
    spy = shutil.which("py-spy", path=str(Path(sys.executable).parent)) or "py-spy"
    return await asyncio.create_subprocess_exec(
        spy, "record", "--pid", str(pid), "--duration", str(int(args.duration) - 1), "--rate", "100",
        "--nonblocking", "--format", "raw", "--output", args.py_spy,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip


def summarise_py_spy(path: Path, top: int = 30) -> None:
    """Print the functions with the most samples, inclusive (anywhere on the stack) and self (on top)."""
    inclusive: collections.Counter[str] = collections.Counter()
    own: collections.Counter[str] = collections.Counter()
    total = 0
    for line in path.read_text().splitlines():
        stack, _, n = line.rpartition(" ")
        if not stack or not n.isdigit():
            continue
        frames = [_frame_name(f) for f in stack.split(";")]
        total += int(n)
        own[frames[-1]] += int(n)
        for name in set(frames):
            inclusive[name] += int(n)
    print(f"\npy-spy ({total} samples at 100 Hz; raw stacks in {path})")
    for title, counter in (("inclusive", inclusive), ("self", own)):
        print(f"  top {top} {title}:")
        for name, n in counter.most_common(top):
            print(f"    {100 * n / max(total, 1):5.1f}%  {name}")


def _frame_name(frame: str) -> str:
    """``func (path/to/file.py:123)`` -> ``func (to/file.py)``: aggregated over lines."""
    name, _, where = frame.partition(" (")
    where = where.rstrip(")").rsplit(":", 1)[0]
    return f"{name} ({'/'.join(where.split('/')[-2:])})"


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
    parser.add_argument("--sessions", default="1000", help="comma-separated sizes, e.g. 500,1000,2000")
    parser.add_argument("--duration", type=float, default=30.0, help="seconds of steady state (default 30)")
    parser.add_argument("--rate", type=float, default=200.0, help="sockets opened per second (default 200)")
    parser.add_argument(
        "--settle", type=float, default=5.0, help="seconds between the ramp and the steady period"
    )
    parser.add_argument("--workers", type=int, default=1, help="generator processes (default 1)")
    parser.add_argument("--stats-every", type=float, default=2.0, help="seconds between stats frames (2)")
    parser.add_argument("--ping-every", type=float, default=5.0, help="seconds between timed pings (5)")
    parser.add_argument("--no-deflate", action="store_true", help="do not offer permessage-deflate")
    parser.add_argument(
        "--gc-threshold", default="", metavar="G0,G1,G2", help="experiment: gc.set_threshold in the servers"
    )
    parser.add_argument("--py-spy", metavar="FILE", help="record duet with py-spy over the steady period")
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--duet-only", action="store_true")
    which.add_argument("--relay-only", action="store_true")
    parser.add_argument("--serve-relay", type=int, metavar="PORT", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve_relay:
        serve_relay(args.serve_relay)
        return
    args.sessions = [int(s) for s in args.sessions.split(",")]
    _raise_file_limit()
    need = 2 * max(args.sessions) + 1000
    if resource.getrlimit(resource.RLIMIT_NOFILE)[0] < need:
        sys.exit(f"the open-file limit is below {need}: raise it (ulimit -Hn) first")
    print(f"load at start: {os.getloadavg()[0]:.2f} (1-min), {os.cpu_count()} cores", flush=True)
    asyncio.run(main_async(args))


if __name__ == "__main__":
    main()
