"""Request body limits (issue 10): a huge unauthenticated body is refused before it is read or parsed.

The probe: a 30 MiB unauthenticated POST raised the server's memory from 149 to 331-359 MiB, and the
phone webhook read its whole body before its own 16 KiB check. Now the JSON API takes at most
64 KiB and ``/phone/...`` 16 KiB, refused from ``Content-Length`` at once and, without one, while
the body streams in.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from body_flood import MIB, flood, rss_mib
from conftest import RunningServer
from duet_process import DuetProcess

from app.body_limits import JSON_MAX_BYTES, WEBHOOK_MAX_BYTES

sqlite_only = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # no database involved

_CONSOLE_PHONE = {"phone_provider": "console", "phone_dial_in": "+15555550100"}


async def _exchange(server: RunningServer, request: bytes) -> tuple[int, dict[str, str], bytes]:
    """Write ``request`` (and nothing more), read the whole answer: status, headers, body."""
    port = int(server.url.rsplit(":", 1)[1])
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(request)
        await writer.drain()
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
        lines = head.decode().split("\r\n")
        headers = dict(line.lower().split(": ", 1) for line in lines[1:] if line)
        body = await asyncio.wait_for(reader.readexactly(int(headers["content-length"])), 10)
        return int(lines[0].split()[1]), headers, body
    finally:
        writer.close()


def _head(path: str, framing: str, content_type: str = "application/json") -> bytes:
    return f"POST {path} HTTP/1.1\r\nHost: t\r\nContent-Type: {content_type}\r\n{framing}\r\n\r\n".encode()


def _chunked(body: bytes, *, last: bool) -> bytes:
    return b"%x\r\n%b\r\n" % (len(body), body) + (b"0\r\n\r\n" if last else b"")


@sqlite_only
async def test_a_30_mib_content_length_is_refused_before_a_byte_of_it_is_read(server: RunningServer) -> None:
    # Only the headers are sent: the answer cannot wait for the body, nor look at a key.
    status, headers, body = await _exchange(server, _head("/v1/rooms", f"Content-Length: {30 * MIB}"))
    assert status == 413
    assert json.loads(body) == {
        "code": "body_too_large",
        "message": f"The request body is larger than {JSON_MAX_BYTES} bytes.",
    }
    assert headers["connection"] == "close"


@sqlite_only
async def test_a_chunked_body_is_refused_once_it_passes_the_limit(server: RunningServer) -> None:
    # No length announced: the server counts, and answers once one byte too many has arrived (the body
    # is never finished).
    request = _head("/v1/rooms", "Transfer-Encoding: chunked") + _chunked(
        b" " * (JSON_MAX_BYTES + 1), last=False
    )
    status, _, body = await _exchange(server, request)
    assert (status, json.loads(body)["code"]) == (413, "body_too_large")


@sqlite_only
@pytest.mark.parametrize("chunked", [False, True])
async def test_a_body_at_the_limit_goes_through(server: RunningServer, chunked: bool) -> None:
    room: dict[str, Any] = {"title": "t", "host": {"name": "Ana"}, "guest": {"name": "Ben"}}
    text = json.dumps(room).encode()
    text += b" " * (JSON_MAX_BYTES - len(text))  # JSON allows trailing whitespace
    framing = "Transfer-Encoding: chunked" if chunked else f"Content-Length: {len(text)}"
    request = _head("/v1/rooms", framing + f"\r\nAuthorization: Bearer {server.api_key}")
    status, _, body = await _exchange(server, request + (_chunked(text, last=True) if chunked else text))
    assert status == 201, body


@sqlite_only
@pytest.mark.parametrize("server_settings", [_CONSOLE_PHONE])
@pytest.mark.parametrize(("size", "status"), [(WEBHOOK_MAX_BYTES, 403), (WEBHOOK_MAX_BYTES + 1, 413)])
async def test_phone_webhooks_take_16_kib(server: RunningServer, size: int, status: int) -> None:
    # At the limit the webhook reads the body and refuses it as unsigned; over it, it never sees it.
    form = b"CallSid=" + b"a" * (size - len(b"CallSid="))
    for request in (
        _head("/phone/voice", f"Content-Length: {size}", "application/x-www-form-urlencoded") + form,
        _head("/phone/voice", "Transfer-Encoding: chunked", "application/x-www-form-urlencoded")
        + _chunked(form, last=True),
    ):
        got, _, body = await _exchange(server, request)
        assert got == status, body
        if status == 413:
            assert (
                json.loads(body)["message"] == f"The request body is larger than {WEBHOOK_MAX_BYTES} bytes."
            )


async def test_a_flood_of_large_bodies_leaves_the_servers_memory_alone(tmp_path: Path) -> None:
    # bench/body_limits.py runs the figure (100 concurrent 30 MiB bodies); here a smaller flood
    # against `duet serve` in a process of its own, whose peak memory (VmHWM) the kernel keeps.
    phone = {"DUET_PHONE_PROVIDER": "console", "DUET_PHONE_DIAL_IN": "+15555550100"}
    server = DuetProcess(tmp_path / "data", settings=phone)
    await server.start()
    try:
        await flood(server.port, "/v1/rooms", clients=1, size=10, chunked=False)  # imports done
        before = rss_mib(server.pid)
        for path in ("/v1/rooms", "/phone/voice"):
            for chunked in (False, True):
                outcomes = await flood(server.port, path, clients=20, size=8 * MIB, chunked=chunked)
                # A client may see the connection reset before it reads the 413: it was still writing.
                assert {o.status for o in outcomes} <= {413, None}, outcomes
                assert all(o.sent < 8 * MIB for o in outcomes)
        growth = rss_mib(server.pid, "VmHWM") - before
    finally:
        await server.stop()
    # 80 bodies of 8 MiB (640 MiB) went at it; before the limits 10 bodies of 30 MiB added 860 MiB.
    assert growth < 50, f"the server grew by {growth:.1f} MiB"
