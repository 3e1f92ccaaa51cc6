"""The signaling WebSocket against a real server: joining, relaying, refusing, heartbeats."""

from __future__ import annotations

import asyncio
import itertools
import time
from typing import Any

import jwt
import pytest
from conftest import RunningServer
from websockets.exceptions import ConnectionClosed
from wsclient import WsClient, joined, split_join_url

from signaling.messages import (
    Answer,
    Bye,
    Candidate,
    CloseCode,
    ErrorCode,
    IceCandidate,
    Join,
    Offer,
    Ping,
)


async def test_two_participants_join_and_negotiate(server: RunningServer) -> None:
    room = await server.create_room()
    ws = server.ws_url(room["id"])
    host, host_welcome = await joined(ws, room["join_urls"]["host"])
    assert host_welcome.you.role == "host" and host_welcome.you.name == "Ana"
    assert host_welcome.peer.name == "Ben" and not host_welcome.peer.present
    assert host_welcome.polite is False and host_welcome.ice_servers == []

    guest, guest_welcome = await joined(ws, room["join_urls"]["guest"])
    assert guest_welcome.peer.present and guest_welcome.polite is True
    peer_joined = await host.recv_type("peer-joined")
    assert peer_joined.peer.name == "Ben" and peer_joined.rejoined is False

    await host.send(Offer(sdp="v=0 offer"))
    assert (await guest.recv_type("offer")).sdp == "v=0 offer"
    await guest.send(Answer(sdp="v=0 answer"))
    assert (await host.recv_type("answer")).sdp == "v=0 answer"
    candidate = IceCandidate(
        candidate="candidate:1 1 udp 1 198.18.0.1 5000 typ host", sdp_mid="0", sdp_m_line_index=0
    )
    await guest.send(Candidate(candidate=candidate))
    assert (await host.recv_type("candidate")).candidate == candidate
    await guest.send(Candidate(candidate=None))
    assert (await host.recv_type("candidate")).candidate is None

    await host.send(Ping(id=7))
    assert (await host.recv_type("pong")).id == 7

    await guest.send(Bye())
    left = await host.recv_type("peer-left")
    assert (left.peer.name, left.reason) == ("Ben", "bye")
    assert await guest.closed_with() == CloseCode.NORMAL
    await host.close()


async def test_both_joining_at_once_meet_in_one_room(server: RunningServer) -> None:
    """Both sockets ask for the room before either has loaded it: one load, one room, one pairing."""
    for _ in range(5):
        room = await server.create_room()
        ws_url = server.ws_url(room["id"])
        (host, host_welcome), (guest, guest_welcome) = await asyncio.gather(
            joined(ws_url, room["join_urls"]["host"]), joined(ws_url, room["join_urls"]["guest"])
        )
        # Whoever came second found the other there; the first hears of the second.
        assert host_welcome.peer.present or guest_welcome.peer.present
        first = host if not host_welcome.peer.present else guest
        assert (await first.recv_type("peer-joined")).peer.present
        await host.send(Bye())
        assert (await guest.recv_type("peer-left")).reason == "bye"
        await guest.close()


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        ("not json", ErrorCode.INVALID_JSON),
        ('{"type": "teleport"}', ErrorCode.UNKNOWN_TYPE),
        ('{"type": "offer"}', ErrorCode.INVALID_MESSAGE),
        ('{"type": "offer", "sdp": "' + "x" * 70_000 + '"}', ErrorCode.TOO_LARGE),
        ('{"type": "answer", "sdp": "v=0"}', ErrorCode.OUT_OF_ORDER),
        ('{"type": "candidate", "candidate": null}', ErrorCode.OUT_OF_ORDER),
        ('{"type": "join", "token": "x"}', ErrorCode.ALREADY_JOINED),
    ],
)
async def test_bad_frames_get_an_error_and_the_room_goes_on(
    server: RunningServer, frame: str, code: str
) -> None:
    room = await server.create_room()
    ws = server.ws_url(room["id"])
    host, _ = await joined(ws, room["join_urls"]["host"])
    guest, _ = await joined(ws, room["join_urls"]["guest"])
    await host.recv_type("peer-joined")

    await guest.send(frame)
    error = await guest.recv_type("error")
    assert error.code == code and error.message

    # Nothing was relayed and nothing broke: negotiation still works both ways.
    await host.send(Offer(sdp="v=0 offer"))
    assert (await guest.recv_type("offer")).sdp == "v=0 offer"
    await guest.send(Answer(sdp="v=0 answer"))
    assert (await host.recv_type("answer")).sdp == "v=0 answer"
    await host.close()
    await guest.close()


async def test_offer_without_peer_is_refused(server: RunningServer) -> None:
    room = await server.create_room()
    host, _ = await joined(server.ws_url(room["id"]), room["join_urls"]["host"])
    await host.send(Offer(sdp="v=0"))
    error = await host.recv_type("error")
    assert error.code == ErrorCode.PEER_ABSENT and "Ben" in error.message
    await host.close()


async def test_frames_before_join_are_refused_then_join_works(server: RunningServer) -> None:
    room = await server.create_room()
    client = await WsClient.open(server.ws_url(room["id"]))
    await client.send(Ping())
    assert (await client.recv_type("error")).code == ErrorCode.NOT_JOINED
    await client.send(Join(token=split_join_url(room["join_urls"]["host"])[1]))
    assert (await client.recv_type("welcome")).you.role == "host"
    await client.close()


def _forged(room_id: str) -> str:
    claims = {"aud": "duet:join", "rid": room_id, "role": "guest", "exp": int(time.time()) + 3600}
    return jwt.encode(claims, "not-the-server-secret-at-all-000000000", algorithm="HS256")


# A link whose own ``exp`` passed is not among them: the room's current times decide (a rescheduled
# room keeps its links; tests/app/test_webhooks.py), and an expired room refuses every link.
@pytest.mark.parametrize("kind", ["forged", "other-room", "garbage"])
async def test_third_parties_are_refused(server: RunningServer, kind: str) -> None:
    room, other = await server.create_room(), await server.create_room()
    tokens: dict[str, Any] = {
        "forged": lambda: _forged(room["id"]),
        "other-room": lambda: split_join_url(other["join_urls"]["guest"])[1],
        "garbage": lambda: "not-a-token",
    }
    ws = server.ws_url(room["id"])
    host, _ = await joined(ws, room["join_urls"]["host"])
    intruder = await WsClient.open(ws)
    await intruder.send(Join(token=tokens[kind]()))
    error = await intruder.recv_type("error")
    assert error.code == ErrorCode.UNAUTHORIZED
    assert await intruder.closed_with() == CloseCode.UNAUTHORIZED
    # The host was not disturbed and is still alone.
    await host.send(Ping(id=1))
    assert (await host.recv_type("pong")).id == 1
    await host.close()


async def test_unknown_room_and_version(server: RunningServer) -> None:
    room = await server.create_room()
    token = split_join_url(room["join_urls"]["host"])[1]
    client = await WsClient.open(server.ws_url(room["id"]))
    await client.send(f'{{"type": "join", "v": 99, "token": "{token}"}}')
    assert (await client.recv_type("error")).code == ErrorCode.UNSUPPORTED_VERSION
    assert await client.closed_with() == CloseCode.UNSUPPORTED_VERSION

    client = await WsClient.open(server.ws_url("nosuchroom"))
    await client.send(Join(token=token))
    assert (await client.recv_type("error")).code == ErrorCode.UNAUTHORIZED  # token is bound to its room
    assert await client.closed_with() == CloseCode.UNAUTHORIZED


async def test_same_role_again_replaces_the_old_socket(server: RunningServer) -> None:
    room = await server.create_room()
    ws = server.ws_url(room["id"])
    host, _ = await joined(ws, room["join_urls"]["host"])
    guest, _ = await joined(ws, room["join_urls"]["guest"])
    await host.recv_type("peer-joined")

    guest2, welcome = await joined(ws, room["join_urls"]["guest"])  # a reload, or another device
    assert welcome.peer.present
    replaced = await guest.recv_type("error")
    assert replaced.code == ErrorCode.REPLACED
    assert await guest.closed_with() == CloseCode.REPLACED
    again = await host.recv_type("peer-joined")
    assert again.rejoined is True
    await host.send(Offer(sdp="v=0 fresh"))
    assert (await guest2.recv_type("offer")).sdp == "v=0 fresh"

    async with server.client() as api:
        events = (await api.get(f"/v1/rooms/{room['id']}/events")).json()["items"]
    assert [(e["type"], e["role"]) for e in events] == [
        ("scheduled", None),
        ("joined", "host"),
        ("joined", "guest"),
        ("reconnected", "guest"),
    ]
    await host.close()
    await guest2.close()


@pytest.mark.parametrize("server_settings", [{"join_timeout_s": 0.5}])
async def test_socket_that_never_joins_is_closed(server: RunningServer) -> None:
    room = await server.create_room()
    client = await WsClient.open(server.ws_url(room["id"]))
    assert (await client.recv_type("error", timeout=5)).code == ErrorCode.JOIN_TIMEOUT
    assert await client.closed_with() == CloseCode.JOIN_TIMEOUT


@pytest.mark.parametrize(
    "server_settings", [{"ping_interval_s": 0.3, "sweep_interval_s": 0.1, "reconnect_grace_s": 0.5}]
)
async def test_silent_socket_is_dropped_and_the_peer_told(server: RunningServer) -> None:
    room = await server.create_room()
    ws = server.ws_url(room["id"])
    host, welcome = await joined(ws, room["join_urls"]["host"])
    assert welcome.ping_interval_s == 0.3
    guest, _ = await joined(ws, room["join_urls"]["guest"])
    await host.recv_type("peer-joined")

    # The host keeps pinging; the guest goes silent (its network died, its tab froze).
    told: list[str] = []

    async def keep_pinging() -> Any:
        async with asyncio.timeout(5):
            for i in itertools.count():
                await host.send(Ping(id=i))  # a live client pings every interval; here faster
                message = await host.recv(timeout=1)
                if message.type != "pong":
                    told.append(message.type)
                if message.type == "peer-left":
                    return message
                await asyncio.sleep(0.1)  # the client's ping timer, not a synchronisation

    left = await keep_pinging()
    # First "reconnecting" (the seat is held for the grace period), then "left" when it passes.
    assert told == ["peer-reconnecting", "peer-left"]
    assert left is not None and left.reason == "timeout" and left.peer.name == "Ben"
    assert await guest.closed_with() == CloseCode.HEARTBEAT_TIMEOUT
    await host.close()


async def test_ending_the_room_disconnects_both_and_blocks_rejoining(server: RunningServer) -> None:
    room = await server.create_room()
    ws = server.ws_url(room["id"])
    host, _ = await joined(ws, room["join_urls"]["host"])
    guest, _ = await joined(ws, room["join_urls"]["guest"])
    async with server.client() as api:
        assert (await api.get(f"/v1/rooms/{room['id']}")).json()["state"] == "live"
        response = await api.post(f"/v1/rooms/{room['id']}/end")
        assert response.status_code == 200 and response.json()["state"] == "ended"
    for client in (host, guest):
        error = await client.recv_type("error")
        assert error.code == ErrorCode.ROOM_ENDED
        assert await client.closed_with() == CloseCode.ROOM_ENDED

    late = await WsClient.open(ws)
    await late.send(Join(token=split_join_url(room["join_urls"]["guest"])[1]))
    assert (await late.recv_type("error")).code == ErrorCode.ROOM_ENDED
    assert await late.closed_with() == CloseCode.ROOM_ENDED


@pytest.mark.parametrize("server_settings", [{"sweep_interval_s": 0.1, "reconnect_grace_s": 0.3}])
async def test_closing_the_tab_tells_the_peer(server: RunningServer) -> None:
    room = await server.create_room()
    ws = server.ws_url(room["id"])
    host, _ = await joined(ws, room["join_urls"]["host"])
    guest, _ = await joined(ws, room["join_urls"]["guest"])
    await host.recv_type("peer-joined")
    await guest.close()
    reconnecting = await host.recv_type("peer-reconnecting")
    assert reconnecting.peer.reconnecting and not reconnecting.peer.present
    left = await host.recv_type("peer-left")  # nobody came back within the grace period
    assert left.reason == "closed"
    with pytest.raises(ConnectionClosed):
        await guest.ws.send("{}")
    await host.close()


async def test_a_dropped_socket_that_comes_back_resumes_the_call(server: RunningServer) -> None:
    room = await server.create_room()
    ws = server.ws_url(room["id"])
    host, _ = await joined(ws, room["join_urls"]["host"])
    guest, _ = await joined(ws, room["join_urls"]["guest"])
    await host.recv_type("peer-joined")
    await guest.close()  # no bye: the network dropped
    assert (await host.recv_type("peer-reconnecting")).peer.name == "Ben"
    token = room["join_urls"]["guest"].split("#t=")[1]
    again = await WsClient.open(ws)
    await again.send(Join(token=token, resume=True))
    welcome = await again.recv_type("welcome")
    assert welcome.resumed and welcome.peer.present
    back = await host.recv_type("peer-back")
    assert back.peer.present and back.peer.name == "Ben"
    await again.close()
    await host.close()
