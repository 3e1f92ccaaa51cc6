"""Request body limits under a flood: the memory of ``duet serve`` while clients stream huge bodies.

For each case a fresh ``duet serve`` (a child process, development mode, console phone provider so
the webhooks answer) gets ``--clients`` concurrent unauthenticated POSTs of ``--mib`` MiB each, on
loopback, the body streamed in 64 KiB pieces: to the JSON API (``POST /v1/rooms``) and to a phone
webhook (``POST /phone/voice``), each once announced with ``Content-Length`` and once ``chunked``
(no length: the server can only count). Printed per case: the server's RSS before, its peak during
(``VmHWM`` from /proc, the kernel's own high-water mark, so no spike falls between samples), the
growth, what the clients got (status codes) and how many body bytes they managed to write.

Target (issue 10): the peak does not grow beyond the limit (64 KiB for JSON, 16 KiB for webhooks,
times the clients); before the limits a 30 MiB body raised the server from 149 to 331-359 MiB.

    .venv/bin/python bench/body_limits.py                      # 100 clients x 30 MiB, four cases
    .venv/bin/python bench/body_limits.py --clients 20 --mib 5
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from body_flood import MIB, flood, rss_mib
from duet_process import DuetProcess

CASES = [
    ("JSON API", "/v1/rooms", "application/json"),
    ("phone webhook", "/phone/voice", "application/x-www-form-urlencoded"),
]
_CONSOLE_PHONE = {"DUET_PHONE_PROVIDER": "console", "DUET_PHONE_DIAL_IN": "+15555550100"}


async def one_case(path: str, content_type: str, *, clients: int, size: int, chunked: bool) -> str:
    with tempfile.TemporaryDirectory(prefix="duet-bench-") as folder:
        server = DuetProcess(Path(folder) / "data", settings=_CONSOLE_PHONE)
        await server.start()
        try:
            # One small request first, so what the first request imports is in the baseline.
            await flood(server.port, path, clients=1, size=10, chunked=False, content_type=content_type)
            before = rss_mib(server.pid)
            started = time.monotonic()
            outcomes = await flood(
                server.port, path, clients=clients, size=size, chunked=chunked, content_type=content_type
            )
            seconds = time.monotonic() - started
            peak = rss_mib(server.pid, "VmHWM")
        finally:
            await server.stop()
    statuses = Counter("closed" if o.status is None else str(o.status) for o in outcomes)
    sent_mib = sum(o.sent for o in outcomes) / clients / MIB
    return (
        f"RSS {before:6.1f} -> peak {peak:6.1f} MiB (+{peak - before:5.1f}); "
        f"answers {dict(statuses)}; each client wrote {sent_mib:.2f} MiB on average; {seconds:.1f} s"
    )


async def main(clients: int, mib: float) -> None:
    size = int(mib * MIB)
    print(f"{clients} concurrent unauthenticated POSTs of {mib:g} MiB each, loopback, duet serve as a child")
    for name, path, content_type in CASES:
        for chunked in (False, True):
            framing = "chunked" if chunked else "Content-Length"
            line = await one_case(path, content_type, clients=clients, size=size, chunked=chunked)
            print(f"  {name:13} {path:13} {framing:14} {line}", flush=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--clients", type=int, default=100, help="concurrent POSTs (default 100)")
    parser.add_argument("--mib", type=float, default=30.0, help="body size in MiB (default 30)")
    arguments = parser.parse_args()
    asyncio.run(main(arguments.clients, arguments.mib))
