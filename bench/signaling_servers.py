"""The servers a signaling load benchmark drives, as child processes, and what is read from outside.

Shared by ``bench/signaling_load.py`` (the Python generator) and ``bench/signaling_node.py`` (the
Node one): ``duet serve`` with its own data folder, or the bare Starlette relay
(``bench/signaling_relay.py``), on a free loopback port; duet's rooms made through its REST API; the
server's CPU and memory read from /proc; its GC pauses and uvicorn's WebSocket options through a
``sitecustomize`` hook put on the child's PYTHONPATH, so the server's code is unchanged
(``kill -USR1 PID`` makes the hook append every asyncio task's stack to ``tasks.txt`` in the run's
folder: for a server that stops answering).

The hook's uvicorn part applies ``BENCH_UVICORN_WS`` (``websockets``, ``websockets-sansio``,
``wsproto``) and ``BENCH_UVICORN_DEFLATE`` (``on``/``off``) when uvicorn loads its configuration,
whatever built it (``uvicorn.run`` or a ``Config`` of duet's own, which then loses its own protocol
class), and prints the protocol class and deflate setting the server really runs with.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import os
import resource
import shutil
import socket
import sys
from pathlib import Path
from typing import Any

__all__ = [
    "ROOT",
    "Server",
    "add_run_arguments",
    "cpu_seconds",
    "gc_summary",
    "machine_busy_seconds",
    "memory_mib",
    "prepare_run",
    "raise_file_limit",
    "read_gc_log",
    "start_py_spy",
    "summarise_py_spy",
]

ROOT = Path(__file__).resolve().parent.parent
CLK_TCK = os.sysconf("SC_CLK_TCK")
LAYER_PREFIX = "bench-uvicorn: "
"""The hook's line saying which WebSocket protocol class and deflate setting uvicorn runs with."""

_HOOK = r"""
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
if os.environ.get("BENCH_TASK_DUMP"):  # kill -USR1 PID: every asyncio task's stack, for a server that hangs
    import asyncio, io, signal
    def _awaiting(coro):  # the await chain of a suspended task, outermost first
        where = []
        while coro is not None:
            f = getattr(coro, "cr_frame", None) or getattr(coro, "gi_frame", None)
            if f is None:
                where.append(repr(coro)[:100])
                break
            where.append(f"  {f.f_code.co_filename}:{f.f_lineno} {f.f_code.co_name}")
            coro = getattr(coro, "cr_await", None) or getattr(coro, "gi_yieldfrom", None)
        return where
    def _dump_tasks(signum, frame):
        loop = asyncio.events._get_running_loop()
        out = io.StringIO()
        for task in asyncio.all_tasks(loop) if loop else ():
            out.write(f"{task.get_name()}\n" + "\n".join(_awaiting(task.get_coro())) + "\n")
        with open(os.environ["BENCH_TASK_DUMP"], "a") as f:
            f.write(f"=== {time.time():.3f}\n" + out.getvalue())
    signal.signal(signal.SIGUSR1, _dump_tasks)
if os.environ.get("BENCH_UVICORN_REPORT"):
    import uvicorn.config
    _load = uvicorn.config.Config.load
    def _bench_load(self):
        if os.environ.get("BENCH_UVICORN_WS"):
            self.ws = os.environ["BENCH_UVICORN_WS"]
        if os.environ.get("BENCH_UVICORN_DEFLATE"):
            self.ws_per_message_deflate = os.environ["BENCH_UVICORN_DEFLATE"] == "on"
        _load(self)
        ws = getattr(self, "ws_protocol_class", None)
        name = f"{ws.__module__}.{ws.__qualname__}" if ws is not None else "none"
        print(f"LAYER_PREFIXws={name} per-message-deflate={self.ws_per_message_deflate}", flush=True)
    uvicorn.config.Config.load = _bench_load
""".replace("LAYER_PREFIX", LAYER_PREFIX)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def raise_file_limit() -> None:
    """Raise this process's open-file limit (and so its children's) to the hard limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def add_run_arguments(parser: argparse.ArgumentParser, *, duration_s: float, ping_every_s: float) -> None:
    """The options both load benchmarks share: sizes, timing, which servers, experiments on them."""
    parser.add_argument("--sessions", default="1000", help="comma-separated sizes, e.g. 1000,2000,4000")
    parser.add_argument(
        "--duration", type=float, default=duration_s, help=f"seconds of steady state (default {duration_s:g})"
    )
    parser.add_argument("--rate", type=float, default=200.0, help="sockets opened per second (default 200)")
    parser.add_argument("--settle", type=float, default=5.0, help="seconds between set-up and steady state")
    parser.add_argument("--stats-every", type=float, default=2.0, help="seconds between stats frames (2)")
    parser.add_argument(
        "--ping-every", type=float, default=ping_every_s, help=f"seconds between pings ({ping_every_s:g})"
    )
    parser.add_argument("--duet-root", type=Path, help="run duet from this checkout (default: this one)")
    parser.add_argument("--gc-threshold", default="", metavar="G0,G1,G2", help="experiment: gc.set_threshold")
    parser.add_argument("--py-spy", metavar="FILE", help="record duet with py-spy over the steady period")
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--duet-only", action="store_true")
    which.add_argument("--relay-only", action="store_true")


def prepare_run(args: argparse.Namespace) -> None:
    """``--sessions`` as a list; the open-file limit raised, and checked against the largest size."""
    args.sessions = [int(s) for s in args.sessions.split(",")]
    raise_file_limit()
    need = 2 * max(args.sessions) + 1000
    if resource.getrlimit(resource.RLIMIT_NOFILE)[0] < need:
        sys.exit(f"the open-file limit is below {need}: raise it (ulimit -Hn) first")
    print(f"load at start: {os.getloadavg()[0]:.2f} (1-min), {os.cpu_count()} cores", flush=True)


class Server:
    """``duet serve`` or the relay, as a child process on a free loopback port; its log is drained.

    ``ws`` and ``deflate`` choose uvicorn's WebSocket implementation and permessage-deflate (None:
    the server's own choice); ``duet_root`` runs duet from another checkout (e.g. a ``git archive``
    of a commit), so edits in progress in this working tree do not change what is measured."""

    def __init__(
        self,
        kind: str,
        folder: Path,
        gc_threshold: str = "",
        ws: str | None = None,
        deflate: bool | None = None,
        duet_root: Path | None = None,
    ) -> None:
        self.kind, self.port = kind, free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.root = duet_root or ROOT
        hooks = folder / "hooks"
        hooks.mkdir()
        (hooks / "sitecustomize.py").write_text(_HOOK)
        self.gc_log = folder / f"gc-{kind}.json"
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("DUET_")}
        self.env.update(
            DUET_DATA_DIR=str(folder / "data"),
            DUET_PORT=str(self.port),
            NO_PROXY="*",
            PYTHONPATH=os.pathsep.join([str(hooks), str(self.root)]),
            BENCH_GC_LOG=str(self.gc_log),
            BENCH_GC_THRESHOLD=gc_threshold,
            BENCH_UVICORN_REPORT="1",
            BENCH_TASK_DUMP=str(folder / "tasks.txt"),
            BENCH_UVICORN_WS=ws or "",
            BENCH_UVICORN_DEFLATE="" if deflate is None else ("on" if deflate else "off"),
        )
        self.api_key = ""
        """The API key :meth:`make_rooms` made (duet only)."""
        self.layer = "?"
        """uvicorn's WebSocket protocol class and deflate setting, as the server printed them."""
        self.log: collections.deque[str] = collections.deque(maxlen=200)
        self.process: asyncio.subprocess.Process | None = None
        self._drain: asyncio.Task[None] | None = None

    async def start(self) -> None:
        if self.kind == "duet":
            command = [sys.executable, "-m", "app.cli", "serve"]
        else:
            command = [sys.executable, str(Path(__file__).with_name("signaling_relay.py")), str(self.port)]
        self.process = await asyncio.create_subprocess_exec(
            *command, cwd=self.root, env=self.env,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        )  # fmt: skip
        listening = asyncio.Event()
        self._drain = asyncio.create_task(self._watch(listening))
        try:
            await asyncio.wait_for(listening.wait(), 60)
        except TimeoutError:
            problem = f"{self.kind} did not start"
        else:  # the hook's line comes before uvicorn listens
            problem = f"the benchmark's hook did not run in {self.kind}" if self.layer == "?" else ""
        if problem:
            await self.stop()  # the caller's finally only covers a server that started
            raise RuntimeError(problem + ":\n" + "\n".join(self.log))

    async def _watch(self, listening: asyncio.Event) -> None:
        assert self.process is not None and self.process.stdout is not None
        async for raw in self.process.stdout:  # a full pipe would stall the server
            line = raw.decode(errors="replace").rstrip()
            self.log.append(line)
            if line.startswith(LAYER_PREFIX):
                self.layer = _layer_name(line.removeprefix(LAYER_PREFIX))
            if "Uvicorn running on" in line:
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
            sys.executable, "-m", "app.cli", "apikey", "create", "bench", cwd=self.root, env=self.env,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        out, err = await asyncio.wait_for(made.communicate(), 60)
        if made.returncode != 0:
            raise RuntimeError(err.decode())
        key = out.decode().strip().splitlines()[-1]
        self.api_key = key
        body = {"title": "bench", "host": {"name": "Ana"}, "guest": {"name": "Ben"}}
        gate = asyncio.Semaphore(8)
        headers = {"Authorization": f"Bearer {key}"}
        async with httpx.AsyncClient(base_url=self.url, headers=headers, timeout=60, trust_env=False) as api:

            async def one() -> tuple[str, str, str]:
                async with gate:
                    response = await api.post("/v1/rooms", json=body)
                response.raise_for_status()
                room = response.json()
                urls = room["join_urls"]
                return room["id"], urls["host"].split("#t=")[1], urls["guest"].split("#t=")[1]

            return list(await asyncio.gather(*(one() for _ in range(count))))


_UVICORN_WS = {
    "uvicorn.protocols.websockets.websockets_impl.WebSocketProtocol": "websockets",
    "uvicorn.protocols.websockets.websockets_sansio_impl.WebSocketsSansIOProtocol": "websockets-sansio",
    "uvicorn.protocols.websockets.wsproto_impl.WSProtocol": "wsproto",
}


def _layer_name(line: str) -> str:
    """``ws=uvicorn....WSProtocol per-message-deflate=True`` -> ``wsproto, deflate on``."""
    fields = dict(part.split("=", 1) for part in line.split())
    ws = fields.get("ws", "?")
    ws = _UVICORN_WS.get(ws, ws.rsplit(".", 1)[-1])
    return f"{ws}, deflate {'on' if fields.get('per-message-deflate') == 'True' else 'off'}"


def machine_busy_seconds() -> float:
    """CPU-seconds every core of the machine spent busy since boot (/proc/stat: all but idle and iowait)."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return (sum(fields) - fields[3] - fields[4]) / CLK_TCK


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


def read_gc_log(path: Path) -> dict[str, Any]:
    """The hook's GC totals and long pauses (empty totals before its first write)."""
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


async def start_py_spy(pid: int, seconds: float, output: str) -> asyncio.subprocess.Process:
    """Sample a server for ``seconds`` (``--nonblocking``: the server is not paused)."""
    spy = shutil.which("py-spy", path=str(Path(sys.executable).parent)) or "py-spy"
    return await asyncio.create_subprocess_exec(
        spy, "record", "--pid", str(pid), "--duration", str(int(seconds)), "--rate", "100",
        "--nonblocking", "--format", "raw", "--output", output,
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
        for name, samples in counter.most_common(top):
            print(f"    {100 * samples / max(total, 1):5.1f}%  {name}")


def _frame_name(frame: str) -> str:
    """``func (path/to/file.py:123)`` -> ``func (to/file.py)``: aggregated over lines."""
    name, _, where = frame.partition(" (")
    where = where.rstrip(")").rsplit(":", 1)[0]
    return f"{name} ({'/'.join(where.split('/')[-2:])})"
