"""A platform's webhook receiver for tests: a real HTTP server on a loopback port that verifies every
delivery's signature with the Standard Webhooks library, as a platform would, and answers as the
test tells it (200, 500, 429 with Retry-After, 410, a slow answer; or not at all: ``down()``)."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import socket
import threading
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from standardwebhooks.webhooks import Webhook, WebhookVerificationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

__all__ = ["Delivery", "Receiver", "running_receiver"]


@dataclass(frozen=True)
class Delivery:
    """One request the receiver got (verified or not), and what it answered."""

    id: str
    type: str
    body: dict[str, Any]
    signatures: int
    """How many ``v1,`` signatures the header carried."""
    verified_with: tuple[str, ...]
    """The secrets (of those the receiver holds) that verify it."""
    answered: int
    at: float
    """time.monotonic() when it arrived."""

    @property
    def room_id(self) -> str | None:
        value = self.body.get("data", {}).get("room_id")
        return None if value is None else str(value)

    @property
    def sequence(self) -> int:
        return int(self.body.get("data", {}).get("sequence", 0))


Answer = tuple[int, dict[str, str], float]
"""(status, headers, seconds to wait before answering)."""


@dataclass
class Receiver:
    secrets: list[str] = field(default_factory=list)
    """The secrets it verifies with (set after registering the endpoint)."""
    answer: Callable[[Delivery | None, int], Answer] = lambda _d, _n: (200, {}, 0.0)
    """Given the request (parsed, unverified) and how many requests it has had, what to answer."""
    got: list[Delivery] = field(default_factory=list)
    url: str = ""
    arrived: asyncio.Event | None = None
    _loop: asyncio.AbstractEventLoop | None = None

    def accepted(self) -> list[Delivery]:
        """Deliveries it answered with 2xx, in arrival order."""
        return [d for d in self.got if 200 <= d.answered < 300]

    def accepted_types(self, room_id: str | None = None) -> list[str]:
        return [d.type for d in self.accepted() if room_id is None or d.room_id == room_id]

    async def wait_for(self, check: Callable[[Receiver], bool], timeout: float = 10.0) -> None:
        """Until ``check(self)`` holds (checked on each arrival)."""
        async with asyncio.timeout(timeout):
            while not check(self):
                assert self.arrived is not None
                self.arrived.clear()
                await self.arrived.wait()

    def app(self) -> Starlette:
        async def hook(request: Request) -> Response:
            raw = await request.body()
            headers = dict(request.headers)
            try:
                body = await request.json()
            except ValueError:
                body = {}
            signatures = len(headers.get("webhook-signature", "").split())
            verified = []
            for secret in self.secrets:
                with contextlib.suppress(WebhookVerificationError, ValueError):
                    Webhook(secret).verify(raw, headers)
                    verified.append(secret)
            seen = Delivery(
                id=headers.get("webhook-id", ""),
                type=str(body.get("type")),
                body=body,
                signatures=signatures,
                verified_with=tuple(verified),
                answered=0,
                at=time.monotonic(),
            )
            status, extra, wait_s = self.answer(seen, len(self.got))
            if wait_s:
                await asyncio.sleep(wait_s)
            self._record(dataclasses.replace(seen, answered=status))
            return JSONResponse({"ok": status < 300}, status_code=status, headers=extra)

        return Starlette(routes=[Route("/hook", hook, methods=["POST"])])

    def _record(self, delivery: Delivery) -> None:
        self.got.append(delivery)
        if self._loop is not None and self.arrived is not None:
            self._loop.call_soon_threadsafe(self.arrived.set)


class _Server(uvicorn.Server):
    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.ready = threading.Event()

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        self.ready.set()


class RunningReceiver:
    """The receiver's server, which a test can take down and bring back on the same port."""

    def __init__(self, receiver: Receiver) -> None:
        self.receiver = receiver
        self.port = 0
        self._srv: _Server | None = None
        self._thread: threading.Thread | None = None
        self._sock: socket.socket | None = None

    async def up(self) -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", self.port))
        sock.listen(128)
        self.port = sock.getsockname()[1]
        self.receiver.url = f"http://127.0.0.1:{self.port}/hook"
        srv = _Server(uvicorn.Config(self.receiver.app(), log_level="warning", lifespan="off"))
        thread = threading.Thread(target=lambda: asyncio.run(srv.serve(sockets=[sock])), daemon=True)
        thread.start()
        assert await asyncio.to_thread(srv.ready.wait, 15), "the receiver did not start"
        self._srv, self._thread, self._sock = srv, thread, sock

    async def down(self) -> None:
        """Stop listening: deliveries meet a refused connection until :meth:`up`."""
        if self._srv is None or self._thread is None or self._sock is None:
            return
        self._srv.should_exit = True
        await asyncio.to_thread(self._thread.join, 15)
        self._sock.close()
        self._srv = self._thread = self._sock = None


@contextlib.asynccontextmanager
async def running_receiver(
    answer: Callable[[Delivery | None, int], Answer] | None = None,
) -> AsyncIterator[tuple[Receiver, RunningReceiver]]:
    receiver = Receiver()
    if answer is not None:
        receiver.answer = answer
    receiver.arrived, receiver._loop = asyncio.Event(), asyncio.get_running_loop()
    running = RunningReceiver(receiver)
    await running.up()
    try:
        yield receiver, running
    finally:
        await running.down()
