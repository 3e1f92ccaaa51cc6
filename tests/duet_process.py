"""``duet serve`` as a real child process on a free loopback port, which a test can SIGKILL and restart.

Shared by the server-restart end-to-end test and ``bench/reconnect.py``. The data folder (SQLite,
the development secret that signs join tokens) outlives the process, as it would on a server.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import socket
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol

import httpx

__all__ = ["DuetProcess", "FrameWatch", "free_port", "run_duet"]

DUET = shutil.which("duet", path=str(Path(sys.executable).parent)) or "duet"


async def run_duet(
    *args: str, env: Mapping[str, str] | None = None, timeout_s: float = 60, returncode: int = 0
) -> tuple[str, str]:
    """Run the ``duet`` command to completion: its stdout and stderr; asserts its exit status."""
    process = await asyncio.create_subprocess_exec(
        DUET, *args, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout_s)
    assert process.returncode == returncode, (process.returncode, out.decode(), err.decode())
    return out.decode(), err.decode()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class DuetProcess:
    """One ``duet serve``; :meth:`start` again after :meth:`kill` restarts it on the same port and data."""

    def __init__(self, data_dir: Path, *, port: int | None = None, settings: Mapping[str, str] = {}) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._env = {k: v for k, v in os.environ.items() if not k.startswith("DUET_")}
        self._env.update(
            DUET_DATA_DIR=str(data_dir), DUET_PORT=str(self.port), NO_PROXY="*", **dict(settings)
        )
        self._process: asyncio.subprocess.Process | None = None
        self._drain: asyncio.Task[None] | None = None
        self.log = bytearray()
        self.api_key = ""
        self.listening_at: float | None = None
        """``time.monotonic()`` when the latest start logged that it listens."""

    @property
    def pid(self) -> int:
        """The running ``duet serve``'s process id."""
        assert self._process is not None and self._process.returncode is None, "duet serve is not running"
        return self._process.pid

    async def create_api_key(self) -> str:
        out, _ = await run_duet("apikey", "create", "test", env=self._env, timeout_s=30)
        self.api_key = out.strip()
        return self.api_key

    async def start(self, timeout_s: float = 30) -> None:
        """Start ``duet serve`` and return once it listens (it logs "Uvicorn running on")."""
        self._process = await asyncio.create_subprocess_exec(
            DUET, "serve", env=self._env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
        )
        listening = asyncio.Event()
        self._drain = asyncio.create_task(self._watch(self._process, listening))
        await asyncio.wait_for(listening.wait(), timeout_s)

    async def kill(self) -> None:
        """SIGKILL: no shutdown, no closing handshake, nothing flushed."""
        process = self._process
        if process is None or process.returncode is not None:
            return
        process.send_signal(signal.SIGKILL)
        await process.wait()
        if self._drain is not None:
            self._drain.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._drain

    async def stop(self) -> None:
        process = self._process
        if process is not None and process.returncode is None:
            process.terminate()
            try:
                await asyncio.wait_for(process.wait(), 10)
            except TimeoutError:
                await self.kill()
        if self._drain is not None:
            self._drain.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._drain

    def api(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            base_url=self.url,
            headers={"Authorization": f"Bearer {self.api_key}"},
            timeout=10,
            trust_env=False,
        )

    async def create_room(self, **body: Any) -> dict[str, Any]:
        async with self.api() as api:
            response = await api.post(
                "/v1/rooms", json={"title": "t", "host": {"name": "Ana"}, "guest": {"name": "Ben"}, **body}
            )
            response.raise_for_status()
            room: dict[str, Any] = response.json()
            return room

    async def _watch(self, process: asyncio.subprocess.Process, listening: asyncio.Event) -> None:
        assert process.stdout is not None
        async for line in process.stdout:  # keep reading: a full pipe would stall the child
            self.log.extend(line)
            if b"Uvicorn running on" in line and not listening.is_set():
                self.listening_at = time.monotonic()
                listening.set()


class _Counts(Protocol):
    def report(self) -> Any: ...


class FrameWatch:
    """Samples both participants' received video frame counters every 50 ms."""

    def __init__(self, *people: _Counts) -> None:
        self.people = people
        self.samples: list[tuple[float, tuple[int, ...]]] = []

    async def run(self) -> None:
        while True:
            counts = tuple(p.report().video_frames_received for p in self.people)
            self.samples.append((time.monotonic(), counts))
            await asyncio.sleep(0.05)  # the sampling period, not synchronisation

    def longest_stall_s(self, start: float, end: float) -> float:
        """The longest time, within [start, end], that any participant's frame counter stood still."""
        longest = 0.0
        for i in range(len(self.people)):
            last_change = start
            previous: int | None = None
            for at, counts in self.samples:
                if at < start or at > end:
                    continue
                if previous is not None and counts[i] != previous:
                    last_change = at
                previous = counts[i]
                longest = max(longest, at - last_change)
        return longest

    def flowing_again_at(self, start: float) -> float | None:
        """When every counter had gone up past its value at ``start`` (``None``: not yet)."""
        after = [(at, counts) for at, counts in self.samples if at >= start]
        if not after:
            return None
        base = after[0][1]
        moved: list[float] = []
        for i in range(len(self.people)):
            at = next((at for at, counts in after if counts[i] > base[i]), None)
            if at is None:
                return None
            moved.append(at)
        return max(moved)
