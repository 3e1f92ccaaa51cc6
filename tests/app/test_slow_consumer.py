"""A client that stops reading is dropped on its own; nobody else waits for it (issue 9).

Each socket has its own writer task with a bounded queue (app/socket_writer.py). These tests reproduce
the security probe that froze the sweep for every room: a participant who floods and stops reading,
and a socket that never joins and stops reading.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import socket
import time
from typing import Any

import pytest
from conftest import RunningServer
from websockets.asyncio.client import connect
from wsclient import WsClient, joined, ping_times, split_join_url

from signaling.messages import Join, Offer, Ping

pytestmark = pytest.mark.parametrize(
    "server_settings",
    [{"ping_interval_s": 0.5, "sweep_interval_s": 0.2, "reconnect_grace_s": 30, "join_timeout_s": 1.0}],
)

BIG_SDP = "v=0\r\n" + "a=x-filler:" + base64.b64encode(os.urandom(45_000)).decode() + "\r\n"
"""An offer near the 64 KiB frame limit, relayed whole to the other person (random, so that
permessage-deflate cannot shrink it)."""


async def _not_reading(ws_url: str) -> WsClient:
    """A client whose socket stops reading after 16 queued frames (a small receive buffer too)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    host, port = ws_url.split("//")[1].split("/")[0].split(":")
    sock.setblocking(False)
    await asyncio.get_running_loop().sock_connect(sock, (host, int(port)))
    ws = await connect(ws_url, sock=sock, proxy=None, max_size=2**22, max_queue=1, open_timeout=5)
    return WsClient(ws)


async def _pinging(client: WsClient, every_s: float, stop: asyncio.Event) -> None:
    """Keep the heartbeat going (a real client whose tab froze on rendering still sends)."""
    with contextlib.suppress(Exception):
        while not stop.is_set():
            await client.send(Ping())
            await asyncio.sleep(every_s)


async def test_a_participant_who_stops_reading_is_dropped_and_nobody_else_waits(
    server: RunningServer,
) -> None:
    # Room A: the guest's socket stops reading while the host floods it with large offers.
    room_a = await server.create_room()
    ws_a = server.ws_url(room_a["id"])
    host, _ = await joined(ws_a, room_a["join_urls"]["host"])
    guest = await _not_reading(ws_a)
    await guest.send(Join(token=split_join_url(room_a["join_urls"]["guest"])[1]))
    # Room B: a call going on meanwhile, its host timing pings. Room C: its guest goes silent.
    room_b, room_c = await server.create_room(), await server.create_room()
    b_host, _ = await joined(server.ws_url(room_b["id"]), room_b["join_urls"]["host"])
    b_guest, _ = await joined(server.ws_url(room_b["id"]), room_b["join_urls"]["guest"])
    c_host, _ = await joined(server.ws_url(room_c["id"]), room_c["join_urls"]["host"])
    c_guest, _ = await joined(server.ws_url(room_c["id"]), room_c["join_urls"]["guest"])
    c_guest_silent_since = time.monotonic()
    await host.recv_type("peer-joined")
    await c_host.recv_type("peer-joined")
    c_dropped = asyncio.create_task(c_host.recv_type("peer-reconnecting", timeout=10))

    stop = asyncio.Event()
    heartbeats = [
        asyncio.create_task(_pinging(client, 0.2, stop)) for client in (host, guest, b_guest, c_host)
    ]
    b_pings = asyncio.create_task(ping_times(b_host, stop))
    flood_started = time.monotonic()
    sent = 0
    while sent < 400:  # ~24 MB, far more than loopback buffers hold; the guest is dropped long before
        await host.send(Offer(sdp=BIG_SDP))
        sent += 1
        with contextlib.suppress(TimeoutError):
            message = await host.recv(timeout=0.001)
            if message.type == "peer-reconnecting":
                break
    else:
        await host.recv_type("peer-reconnecting", timeout=15)
    dropped_after = time.monotonic() - flood_started
    # Room C's silent guest is noticed on time (1.5 s silence limit, 0.2 s sweep).
    reconnecting = await c_dropped
    c_noticed_after = time.monotonic() - c_guest_silent_since
    assert reconnecting.peer.role == "guest"
    stop.set()
    b_times = await b_pings
    for task in heartbeats:
        task.cancel()

    # The stuck guest was dropped without a close frame it could not take anyway (seen as 1006).
    assert dropped_after < 15, f"the stuck guest was dropped after {dropped_after:.1f} s"
    assert c_noticed_after < 4, f"room C's silent guest was noticed after {c_noticed_after:.1f} s"
    assert await guest.closed_with(timeout=10) is None
    # Room B's call never waited on room A: every ping answered, none held up behind the stuck socket.
    assert b_times and max(b_times) < 1.0, f"room B's slowest ping took {max(b_times):.3f} s"
    for client in (host, b_host, b_guest, c_host, c_guest):
        await client.close()


async def test_a_socket_that_never_joins_and_stops_reading_is_gone_after_the_join_timeout(
    server: RunningServer,
) -> None:
    room = await server.create_room()
    client = await _not_reading(server.ws_url(room["id"]))
    opened = time.monotonic()
    junk: dict[str, Any] = {"type": "x" * 60_000}
    for _ in range(132):  # the probe's frames: each answered with an error that once echoed it
        await client.send(json.dumps(junk))
    # The client reads nothing for 3.5 s (the scenario itself, not a synchronisation): join timeout
    # 1 s, then at most 2 s (socket_writer.CLOSE_TIMEOUT_S) for the refusal to leave.
    await asyncio.sleep(max(0.0, opened + 3.5 - time.monotonic()))
    started = time.monotonic()
    code = await client.closed_with(timeout=5)
    assert time.monotonic() - started < 1, "the connection was still open 3.5 s after it was accepted"
    assert code in (None, 4008)
