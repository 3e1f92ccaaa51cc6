"""The lab's end of the impairer's control channel: JSON lines to its stdin, answers from its stdout."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from netlab.impairment import (
    Change,
    Direction,
    Impairment,
    LinkStats,
    impairment_from_wire,
    impairment_to_wire,
)

__all__ = ["ImpairerControl", "ImpairerError"]


class ImpairerError(RuntimeError):
    """The impairer refused a command, or died; the message includes the tail of its stderr."""


class ImpairerControl:
    """Talks to one running impairer process (see :mod:`netlab.impairer`) and keeps its change log."""

    def __init__(self, process: asyncio.subprocess.Process, stderr_path: Path) -> None:
        self._process = process
        self._stderr_path = stderr_path
        self._ids = itertools.count(1)
        self._waiting: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._ready: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self.changes: list[Change] = []
        """Every applied change, in the order applied: one entry per direction."""
        self._reader = asyncio.create_task(self._read(), name="impairer-control")

    @property
    def pid(self) -> int:
        return self._process.pid

    async def wait_ready(self, timeout_s: float) -> None:
        """Return once the element has opened its ports and listens for commands."""
        try:
            await asyncio.wait_for(asyncio.shield(self._ready), timeout_s)
        except TimeoutError:
            raise ImpairerError(f"impairer not ready after {timeout_s} s{self._stderr_tail()}") from None

    async def set(
        self, directions: Sequence[Direction], impairment: Impairment, *, at: float | None, timeout_s: float
    ) -> list[Change]:
        """Apply ``impairment`` to ``directions`` at monotonic time ``at`` (``None``: now); return
        the logged changes once applied."""
        reply = await self._ask(
            {
                "op": "set",
                "directions": [str(d) for d in directions],
                "impairment": impairment_to_wire(impairment),
                "at": at,
            },
            timeout_s,
        )
        applied = impairment_from_wire(reply["impairment"])
        return [Change(reply["at"], Direction(d), applied) for d in reply["directions"]]

    async def stats(self, timeout_s: float) -> dict[Direction, LinkStats]:
        """Frame counters per direction."""
        reply = await self._ask({"op": "stats"}, timeout_s)
        return {Direction(d): LinkStats.from_wire(counts) for d, counts in reply["stats"].items()}

    async def close(self, timeout_s: float) -> None:
        """End the element (end of stdin stops it), killing it if it does not stop in ``timeout_s``."""
        if self._process.stdin is not None and not self._process.stdin.is_closing():
            self._process.stdin.close()
        try:
            await asyncio.wait_for(self._process.wait(), timeout_s)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                self._process.kill()
            await self._process.wait()
        self._reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._reader

    async def _ask(self, command: dict[str, Any], timeout_s: float) -> dict[str, Any]:
        if self._reader.done() or self._process.stdin is None:
            raise ImpairerError(f"impairer is not running{self._stderr_tail()}")
        command_id = next(self._ids)
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._waiting[command_id] = future
        try:
            self._process.stdin.write((json.dumps({**command, "id": command_id}) + "\n").encode())
            await self._process.stdin.drain()
            return await asyncio.wait_for(future, timeout_s)
        except TimeoutError:
            raise ImpairerError(f"no answer to {command['op']!r} within {timeout_s} s") from None
        finally:
            self._waiting.pop(command_id, None)

    async def _read(self) -> None:
        assert self._process.stdout is not None
        try:
            async for raw in self._process.stdout:
                message: dict[str, Any] = json.loads(raw)
                event = message.get("event")
                if event == "ready":
                    self._ready.set_result(message)
                    continue
                if event == "applied":
                    applied = impairment_from_wire(message["impairment"])
                    self.changes.extend(
                        Change(message["at"], Direction(d), applied) for d in message["directions"]
                    )
                future = self._waiting.get(message.get("id", -1))
                if future is None or future.done():
                    continue
                if event == "error":
                    future.set_exception(ImpairerError(f"impairer refused a command: {message['message']}"))
                else:
                    future.set_result(message)
        finally:
            failure = ImpairerError(f"impairer exited{self._stderr_tail()}")
            for future in [self._ready, *self._waiting.values()]:
                if not future.done():
                    future.set_exception(failure)
            if self._ready.done() and not self._ready.cancelled():
                self._ready.exception()  # mark retrieved: a failure nobody waits for is not an error here

    def _stderr_tail(self) -> str:
        try:
            tail = self._stderr_path.read_text(errors="replace")[-2000:].strip()
        except OSError:
            return ""
        return f"; its stderr ends with:\n{tail}" if tail else ""
