"""Clients that stream large request bodies at a server on loopback, and the server's memory from /proc.

Shared by the body-limit tests (``tests/app/test_body_limits.py``) and ``bench/body_limits.py``. Each
client writes its request over a raw socket, the body in 64 KiB pieces (one buffer reused, so the
client holds no copy of the body), either announced with ``Content-Length`` or ``chunked`` with no
length at all, and reads the answer while it writes: a server may answer and close before the body
is sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass
from pathlib import Path

__all__ = ["BodyOutcome", "flood", "post_body", "rss_mib"]

_PIECE = b"x" * (64 * 1024)
MIB = 1024 * 1024


@dataclass(frozen=True)
class BodyOutcome:
    """What one client got: the status line's code (``None`` if the connection ended without one),
    how many body bytes it wrote, and seconds from connecting to the answer (or the end)."""

    status: int | None
    sent: int
    seconds: float
    body: bytes


def rss_mib(pid: int, field: str = "VmRSS") -> float:
    """A process's resident memory (``VmRSS``) or its peak so far (``VmHWM``), in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024  # kB
    raise LookupError(f"/proc/{pid}/status has no {field}")


async def post_body(
    port: int,
    path: str,
    size: int,
    *,
    chunked: bool,
    content_type: str = "application/json",
    timeout_s: float = 60,
) -> BodyOutcome:
    """POST ``size`` bytes to ``http://127.0.0.1:{port}{path}`` without credentials."""
    started = time.monotonic()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    framing = "Transfer-Encoding: chunked" if chunked else f"Content-Length: {size}"
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: {content_type}\r\n{framing}\r\n\r\n"
    )
    sent = 0

    async def write() -> None:
        nonlocal sent
        writer.write(head.encode())
        while sent < size:
            piece = _PIECE[: min(len(_PIECE), size - sent)]
            writer.write(b"%x\r\n%b\r\n" % (len(piece), piece) if chunked else piece)
            await writer.drain()
            sent += len(piece)
        if chunked:
            writer.write(b"0\r\n\r\n")
            await writer.drain()

    async def read() -> tuple[int | None, bytes]:
        head = await reader.readuntil(b"\r\n\r\n")
        if not head.startswith(b"HTTP/1.1 "):
            return None, head
        length = next(
            (int(line[15:]) for line in head.lower().split(b"\r\n") if line.startswith(b"content-length:")), 0
        )
        return int(head[9:12]), await reader.readexactly(length)

    writing = asyncio.create_task(write())
    try:
        status, body = await asyncio.wait_for(read(), timeout_s)
    except (ConnectionError, TimeoutError, asyncio.IncompleteReadError):
        status, body = None, b""
    finally:
        writing.cancel()
        with contextlib.suppress(asyncio.CancelledError, ConnectionError):
            await writing
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()
    return BodyOutcome(status=status, sent=sent, seconds=time.monotonic() - started, body=body)


async def flood(
    port: int, path: str, *, clients: int, size: int, chunked: bool, content_type: str = "application/json"
) -> list[BodyOutcome]:
    """``clients`` concurrent :func:`post_body` calls."""
    return list(
        await asyncio.gather(
            *(post_body(port, path, size, chunked=chunked, content_type=content_type) for _ in range(clients))
        )
    )
