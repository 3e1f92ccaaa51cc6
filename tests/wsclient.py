"""A bare protocol client for tests: speaks docs/protocol.md frame by frame."""

from __future__ import annotations

import asyncio
import time
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from signaling.messages import Join, Ping, ServerMessage, dump_message, parse_server_message


def split_join_url(url: str) -> tuple[str, str]:
    """``http://h/s/ROOM#t=TOKEN`` → (room id, token)."""
    parts = urlsplit(url)
    return parts.path.rsplit("/", 1)[-1], parts.fragment.removeprefix("t=")


class WsClient:
    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws

    @classmethod
    async def open(cls, ws_url: str) -> WsClient:
        return cls(await connect(ws_url, proxy=None, max_size=2**22, open_timeout=5))

    async def send(self, message: BaseModel | str | bytes) -> None:
        await self.ws.send(message if isinstance(message, str | bytes) else dump_message(message))

    async def recv(self, timeout: float = 5) -> ServerMessage:
        return parse_server_message(await asyncio.wait_for(self.ws.recv(), timeout))

    async def recv_type(self, type_: str, timeout: float = 5) -> Any:
        """Skip frames until one of ``type_`` arrives (pongs and the like may come first)."""
        async with asyncio.timeout(timeout):
            while True:
                message = await self.recv(timeout)
                if message.type == type_:
                    return message

    async def closed_with(self, timeout: float = 5) -> int | None:
        """Wait for the server to close the socket; return its close code."""
        try:
            async with asyncio.timeout(timeout):
                while True:
                    await self.ws.recv()
        except ConnectionClosed as exc:
            return exc.rcvd.code if exc.rcvd else None

    async def close(self) -> None:
        await self.ws.close()


async def joined(ws_url: str, join_url: str) -> tuple[WsClient, Any]:
    """Connect, join with the link's token, return the client and its welcome."""
    client = await WsClient.open(ws_url)
    _, token = split_join_url(join_url)
    await client.send(Join(token=token))
    return client, await client.recv_type("welcome")


async def ping_times(client: WsClient, stop: asyncio.Event, interval_s: float = 0.1) -> list[float]:
    """Ping every ``interval_s`` until ``stop``; each ping's round trip in seconds (a ping unanswered
    in 5 s raises). Above 20 frames a second for 10 s the rate limit would drop them."""
    times: list[float] = []
    ping_id = 0
    while not stop.is_set():
        ping_id += 1
        sent = time.perf_counter()
        await client.send(Ping(id=ping_id))
        while (await client.recv(timeout=5)).model_dump().get("id") != ping_id:
            pass
        times.append(time.perf_counter() - sent)
        await asyncio.sleep(interval_s)
    return times
