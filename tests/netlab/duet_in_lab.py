"""duet inside the lab: ``duet serve`` in ``srv`` (or ``b``), ``duet join`` in ``a`` (host) and ``b`` (guest).

Shared by the lab's own test, the impaired-call end-to-end tests and ``bench/fallback_netlab.py``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import sys
from collections.abc import AsyncIterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import httpx

from netlab.lab import Lab, Node
from netlab.topology import Participant

__all__ = ["DUET", "call", "duet_server"]

DUET = str(Path(sys.executable).parent / "duet")


class ServerDidNotStart(RuntimeError):
    pass


@contextlib.asynccontextmanager
async def duet_server(
    lab: Lab, settings: Mapping[str, str] | None = None, *, node: Node = "srv"
) -> AsyncIterator[httpx.AsyncClient]:
    """``duet serve`` in ``node`` with its own data folder (``settings`` are extra ``DUET_*`` variables),
    and an API client for it from the root namespace.

    In ``srv`` (the default) its path to each participant is never impaired. In ``b`` it listens on
    b's media address, so everything between ``a`` and duet, HTTP included, crosses the impairer; the
    root namespace has no route there, so the API client goes through a relay the test runs.
    """
    host = lab.srv_ip if node == "srv" else lab.media_ip(_participant(node))
    env = {
        "DUET_ENV": "test",
        "DUET_DATA_DIR": str(lab.workdir / "data"),
        "DUET_PUBLIC_URL": f"http://{host}:8000",
        **(settings or {}),
    }
    created = await lab.run(
        node, [DUET, "apikey", "create", "netlab"], env=env, cwd=lab.workdir, timeout_s=30
    )
    if created.returncode != 0:
        raise ServerDidNotStart(created.stderr.decode(errors="replace"))
    server = await lab.spawn(
        node, [DUET, "serve", "--host", "0.0.0.0", "--port", "8000"], env=env, cwd=lab.workdir
    )
    started, log = asyncio.Event(), bytearray()
    # "Uvicorn running on" is logged once the socket listens ("startup complete" comes just before).
    drain = asyncio.create_task(_watch(server.stderr, b"Uvicorn running on", started, log))
    try:
        try:
            await asyncio.wait_for(started.wait(), 20)
        except TimeoutError:
            raise ServerDidNotStart(
                f"duet serve did not start within 20 s:\n{log.decode(errors='replace')}"
            ) from None
        async with contextlib.AsyncExitStack() as stack:
            base_url = f"http://{host}:8000"
            if node != "srv":
                base_url = await stack.enter_async_context(_relay(lab, node, (host, 8000)))
            api = await stack.enter_async_context(
                httpx.AsyncClient(
                    base_url=base_url,
                    headers={"Authorization": f"Bearer {created.stdout.decode().split()[0]}"},
                    timeout=10,
                    trust_env=False,
                )
            )
            yield api
    finally:
        drain.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await drain


def _participant(node: Node) -> Participant:
    if node not in ("a", "b"):
        raise ValueError(f"duet serve runs in 'srv', 'a' or 'b' (got {node!r})")
    return node


@contextlib.asynccontextmanager
async def _relay(lab: Lab, node: Node, target: tuple[str, int]) -> AsyncIterator[str]:
    """A TCP relay from a loopback port in root to ``target`` inside ``node``; yields its base URL."""

    async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError):
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        writer.close()

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        inside = lab.socket(node, kind=socket.SOCK_STREAM)
        inside.setblocking(False)
        try:
            await asyncio.get_running_loop().sock_connect(inside, target)
        except OSError:
            inside.close()
            writer.close()
            return
        far_reader, far_writer = await asyncio.open_connection(sock=inside)
        await asyncio.gather(pipe(reader, far_writer), pipe(far_reader, writer))

    relay = await asyncio.start_server(serve, "127.0.0.1", 0)
    try:
        yield f"http://127.0.0.1:{relay.sockets[0].getsockname()[1]}"
    finally:
        relay.close()


async def _watch(
    stream: asyncio.StreamReader | None, marker: bytes, seen: asyncio.Event, log: bytearray
) -> None:
    """Keep reading a child's output into ``log`` (a full pipe would stall the child); set ``seen`` at
    ``marker``."""
    assert stream is not None
    async for line in stream:
        log.extend(line)
        if marker in line:
            seen.set()


async def call(
    lab: Lab,
    api: httpx.AsyncClient,
    *,
    duration_s: float,
    join_args: Sequence[str] = (),
    room: Mapping[str, Any] | None = None,
    while_joined: Any = None,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A new room, ``duet join`` as host in a and as guest in b at once; the room and their JSON
    reports (host first). ``while_joined`` is awaited alongside the two participants (a schedule)."""
    body = {"title": "netlab", "host": {"name": "Ana"}, "guest": {"name": "Ben"}, **(room or {})}
    response = await api.post("/v1/rooms", json=body)
    response.raise_for_status()
    created = response.json()
    urls = created["join_urls"]
    people: list[tuple[Node, str]] = [("a", urls["host"]), ("b", urls["guest"])]
    joins = [
        lab.run(
            node,
            [DUET, "join", url, "--duration", str(duration_s), "--json", *join_args],
            timeout_s=duration_s + 30,
        )
        for node, url in people
    ]
    extra = [while_joined] if while_joined is not None else []
    done = await asyncio.gather(*joins, *extra)
    return created, [json.loads(process.stdout) for process in done[:2]]
