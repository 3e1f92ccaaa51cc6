"""Webhooks under load: delivery latency while rooms are live, and catching up after an outage.

``duet serve`` (a child process) with ``--live`` sessions held by the Node generator
(``bench/loadgen``: joined, negotiated, stats every 2 s), and ``--churn`` rooms whose two people
(Python WebSocket clients) join and leave again every ``--cycle-s``: each cycle makes
two ``participant.joined``, two ``participant.left`` (and ``session.started`` once). A real receiver
on loopback (``tests/webhook_receiver.py``) verifies every signature with the Standard Webhooks
library and answers 200.

1. Up (``--up-s``, once the ramp's own events are delivered; how long that took is printed):
   latency from each event (its ``occurred_at``, duet's clock) to its arrival at
   the receiver (this machine's clock): p50, p99, max; deliveries per second.
2. Outage (``--outage-s``, the issue's 600 by default): the receiver stops listening (connections
   refused) while the churn goes on; with ``--restart``, duet is SIGKILLed halfway and started again
   on the same data (the churn clients reconnect).
3. Recovery: the receiver listens again; the time until every message duet made is delivered
   (``GET /v1/webhooks/{id}/deliveries``: none pending), the catch-up rate, and the checks: every
   message delivered, none lost, duplicates by ``webhook-id`` (at-least-once allows a few).

The bench's own CPU and event-loop lag are printed (it runs the churn clients and the receiver).

    .venv/bin/python bench/webhooks.py                          # 1,000 live, 20 churn, 10 min outage
    .venv/bin/python bench/webhooks.py --outage-s 60 --restart  # shorter, with a crash in it
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import resource
import shutil
import signal
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from signaling_servers import Server, cpu_seconds, raise_file_limit
from webhook_receiver import Receiver, running_receiver
from websockets.asyncio.client import connect

LOADGEN = Path(__file__).resolve().parent / "loadgen" / "loadgen.mjs"


class Lag:
    """This process's event-loop lag: a 50 ms timer's lateness, sampled."""

    def __init__(self) -> None:
        self.samples: list[float] = []
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        while True:
            started = time.monotonic()
            await asyncio.sleep(0.05)
            self.samples.append(time.monotonic() - started - 0.05)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    def summary(self) -> str:
        if not self.samples:
            return "-"
        ordered = sorted(self.samples)
        return f"p99 {1000 * ordered[int(0.99 * (len(ordered) - 1))]:.1f} ms, max {1000 * ordered[-1]:.1f} ms"


async def churn(url: str, host: str, guest: str, cycle_s: float, stop: asyncio.Event) -> int:
    """Join and leave, both people, every ``cycle_s`` until ``stop``; the cycles completed."""
    cycles = 0
    while not stop.is_set():
        try:
            async with connect(f"{url}", proxy=None) as a, connect(f"{url}", proxy=None) as b:
                for ws, token in ((a, host), (b, guest)):
                    await ws.send(json.dumps({"type": "join", "v": 1, "token": token}))
                    while json.loads(await asyncio.wait_for(ws.recv(), 10))["type"] != "welcome":
                        pass
                await asyncio.sleep(cycle_s / 2)
                for ws in (b, a):
                    await ws.send(json.dumps({"type": "bye"}))
            cycles += 1
        except (TimeoutError, OSError, Exception):  # duet restarting: try again shortly
            await asyncio.sleep(0.5)
            continue
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(stop.wait(), cycle_s / 2)
    return cycles


async def statuses(server: Server, endpoint_id: str) -> dict[str, int]:
    """Every message duet made for the endpoint, counted by status (all pages)."""
    counts: dict[str, int] = {}
    params: dict[str, Any] = {"limit": 200}
    async with httpx.AsyncClient(
        base_url=server.url,
        headers={"Authorization": f"Bearer {server.api_key}"},
        timeout=30,
        trust_env=False,
    ) as api:
        while True:
            page = (await api.get(f"/v1/webhooks/{endpoint_id}/deliveries", params=params)).json()
            for item in page["items"]:
                counts[item["status"]] = counts.get(item["status"], 0) + 1
            if page["next"] is None:
                return counts
            params["before"] = page["next"]


def latencies_ms(receiver: Receiver, since: float, until: float) -> list[float]:
    """Arrival minus occurred_at, for first arrivals of events that happened in [since, until)."""
    seen: set[str] = set()
    out = []
    for d in receiver.accepted():
        if d.id in seen or d.type == "ping":
            continue
        seen.add(d.id)
        occurred = datetime.fromisoformat(d.body["data"]["occurred_at"]).timestamp()
        if since <= occurred < until:
            arrived = d.at - time.monotonic() + time.time()  # d.at is monotonic; both clocks now
            out.append(1000 * (arrived - occurred))
    return out


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * (len(ordered) - 1)))] if ordered else float("nan")


async def main_async(args: argparse.Namespace) -> None:
    raise_file_limit()
    lag = Lag()
    lag.start()
    cpu0 = resource.getrusage(resource.RUSAGE_SELF)
    with tempfile.TemporaryDirectory(prefix="duet-webhooks-") as folder:
        server = Server("duet", Path(folder))
        server.env.update(DUET_WEBHOOK_ALLOW_HOSTS='["127.0.0.1"]', DUET_ICE_SERVERS="[]")
        await server.start()
        node: asyncio.subprocess.Process | None = None
        stop = asyncio.Event()
        try:
            rooms = await server.make_rooms(args.live + args.churn)
            async with running_receiver() as (receiver, running):
                async with httpx.AsyncClient(
                    base_url=server.url,
                    headers={"Authorization": f"Bearer {server.api_key}"},
                    trust_env=False,
                ) as api:
                    made = (await api.post("/v1/webhooks", json={"url": receiver.url})).json()
                receiver.secrets.append(made["secret"])
                if args.live and shutil.which(args.node) and (LOADGEN.parent / "node_modules").is_dir():
                    plan = Path(folder) / "plan.json"
                    live = [{"room": r, "host": h, "guest": g} for r, h, g in rooms[: args.live]]
                    plan.write_text(json.dumps({"url": server.url.replace("http", "ws"), "sessions": live}))
                    total = args.up_s + args.outage_s + args.recover_s + 60
                    node = await asyncio.create_subprocess_exec(
                        args.node, str(LOADGEN), "--plan", str(plan), "--duration", str(total),
                        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
                    )  # fmt: skip
                    ramp_s = 2 * args.live / 200 + 10
                    print(f"{args.live} live sessions ramping ({ramp_s:.0f} s)…", flush=True)
                    await asyncio.sleep(ramp_s)
                ws = server.url.replace("http", "ws")
                clients = [
                    asyncio.create_task(churn(f"{ws}/s/{r}/ws", h, g, args.cycle_s, stop))
                    for r, h, g in rooms[args.live :]
                ]
                # The ramp's events (4 a live room) drain first: the steady state is measured after.
                drain_from = time.monotonic()
                for _ in range(600):  # polled: duet has no push for "nothing pending"
                    if (await statuses(server, made["id"])).get("pending", 0) <= 2 * args.churn:
                        break
                    await asyncio.sleep(1)
                drained = time.monotonic() - drain_from
                backlog = len(receiver.accepted())
                print(
                    f"ramp backlog: {backlog} delivered, drained {drained:.1f} s after the churn began",
                    flush=True,
                )
                up_from = time.time()
                print(f"up: {args.up_s:.0f} s…", flush=True)
                await asyncio.sleep(args.up_s)
                up_to = time.time()
                up = latencies_ms(receiver, up_from, up_to)
                print(f"outage: {args.outage_s:.0f} s…", flush=True)
                await running.down()
                if args.restart:
                    await asyncio.sleep(args.outage_s / 2)
                    os.kill(server.pid, signal.SIGKILL)
                    await server.process.wait()  # type: ignore[union-attr]
                    await server.start()
                    await asyncio.sleep(args.outage_s / 2)
                else:
                    await asyncio.sleep(args.outage_s)
                stop.set()  # no new events: what waited is what must arrive
                cycles = sum(await asyncio.gather(*clients))
                made_during = await statuses(server, made["id"])
                back = time.monotonic()
                delivered_before = len({d.id for d in receiver.accepted()})
                await running.up()
                caught_up = None
                while time.monotonic() - back < args.recover_s:
                    counts = await statuses(server, made["id"])
                    if not counts.get("pending"):
                        caught_up = time.monotonic() - back
                        break
                    await asyncio.sleep(1)
                counts = await statuses(server, made["id"])
        finally:
            stop.set()
            if node is not None and node.returncode is None:
                node.terminate()
                await node.wait()
            server_cpu = (
                cpu_seconds(server.pid) if server.process and server.process.returncode is None else 0.0
            )
            await server.stop()
    cpu1 = resource.getrusage(resource.RUSAGE_SELF)
    own_cpu = (cpu1.ru_utime + cpu1.ru_stime) - (cpu0.ru_utime + cpu0.ru_stime)
    ids = [d.id for d in receiver.accepted()]
    total = sum(counts.values())
    print()
    print(
        "| live sessions | churn rooms | up: deliveries | p50 ms | p99 ms | max ms | outage s | restart |"
        " caught up after s | catch-up /s | messages | delivered | pending | failed | duplicates |"
    )
    print("|---" * 15 + "|")
    rate = (len(set(ids)) - delivered_before) / caught_up if caught_up else float("nan")
    after = "-" if caught_up is None else f"{caught_up:.1f}"
    cells = [
        args.live, args.churn, len(up), f"{pct(up, 0.5):.0f}", f"{pct(up, 0.99):.0f}",
        f"{max(up, default=0):.0f}", f"{args.outage_s:.0f}", "yes" if args.restart else "no", after,
        f"{rate:.0f}", total, counts.get("delivered", 0), counts.get("pending", 0), counts.get("failed", 0),
        len(ids) - len(set(ids)),
    ]  # fmt: skip
    print("| " + " | ".join(str(c) for c in cells) + " |")
    print(f"\nchurn cycles {cycles}; messages when the receiver came back: {made_during}")
    print(f"the ramp's backlog ({backlog} messages) drained {drained:.1f} s after the churn began")
    print(f"every signature verified: {all(d.verified_with for d in receiver.accepted())}")
    print(f"bench process: CPU {own_cpu:.1f} s over the run, loop lag {lag.summary()}")
    print(f"duet (its last process): CPU {server_cpu:.1f} s")
    if up:
        print(f"up: {len(up) / args.up_s:.1f} deliveries/s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--live", type=int, default=1000, help="sessions held live by the Node generator")
    parser.add_argument("--churn", type=int, default=20, help="rooms whose people join and leave")
    parser.add_argument("--cycle-s", type=float, default=4.0, help="seconds per join/leave cycle")
    parser.add_argument("--up-s", type=float, default=60.0)
    parser.add_argument("--outage-s", type=float, default=600.0)
    parser.add_argument("--recover-s", type=float, default=300.0, help="give up waiting after this")
    parser.add_argument("--restart", action="store_true", help="SIGKILL duet halfway through the outage")
    parser.add_argument("--node", default=shutil.which("node") or "node")
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
