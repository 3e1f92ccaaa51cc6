"""The pre-call test end to end: ``run_check`` against a real server's echo peer."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import time
from pathlib import Path
from typing import Any

import pytest
from aiortc import RTCPeerConnection
from conftest import RunningServer
from duet_process import run_duet
from echo_client import EchoClient

from media.ice import rtc_configuration
from media.precall import run_check


async def test_check_connects_and_says_video_will_work_on_loopback(server: RunningServer) -> None:
    room = await server.create_room()
    started = time.monotonic()
    report = await asyncio.wait_for(run_check(room["join_urls"]["guest"], duration_s=4.0), 10)
    assert time.monotonic() - started < 10
    assert report.connected, report
    assert report.video_frames_echoed > 0 and report.audio_frames_echoed > 0, report
    assert (report.verdict, report.words) == ("video", "video will work"), report
    assert report.bitrate_bps is not None and report.bitrate_bps > 0


async def test_check_needs_a_valid_join_token(server: RunningServer) -> None:
    room, other = await server.create_room(), await server.create_room()
    forged = room["join_urls"]["guest"].split("#")[0] + "#t=" + other["join_urls"]["guest"].split("#t=")[1]
    async with server.client() as client:
        response = await client.post(
            f"/s/{room['id']}/check", json={"token": "nope", "sdp": "v=0", "type": "offer"}
        )
    assert response.status_code == 401
    assert response.json()["code"] == "invalid_token"
    report = await run_check(forged, duration_s=1.0)
    assert (report.verdict, report.connected) == ("cannot-connect", False)
    assert "HTTP 401" in report.reasons[0]


@pytest.mark.parametrize("server_settings", [{"precall_max_concurrent": 0}])
async def test_check_is_capped(server: RunningServer, server_settings: dict[str, Any]) -> None:
    room = await server.create_room()
    token = room["join_urls"]["guest"].split("#t=")[1]
    async with server.client() as client:
        response = await client.post(
            f"/s/{room['id']}/check", json={"token": token, "sdp": "v=0", "type": "offer"}
        )
    assert response.status_code == 429
    assert response.json()["code"] == "precall_busy" and response.json()["message"]
    assert "Retry-After" in response.headers


def _echo_workers() -> list[int]:
    """This process's children running the echo worker: the server under test runs in a thread here."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            cmdline = (entry / "cmdline").read_bytes().split(b"\0")
        except (OSError, IndexError, ValueError):
            continue  # gone meanwhile
        if ppid == os.getpid() and b"media.echo_worker" in cmdline:
            found.append(int(entry.name))
    return found


async def _kill(pid: int, timeout_s: float = 5) -> None:
    """SIGKILL ``pid`` and return once it has exited (its pipes closed), waiting on its pidfd."""
    loop = asyncio.get_running_loop()
    pidfd = os.pidfd_open(pid)
    exited = asyncio.Event()
    loop.add_reader(pidfd, exited.set)
    try:
        signal.pidfd_send_signal(pidfd, signal.SIGKILL)
        await asyncio.wait_for(exited.wait(), timeout_s)
    finally:
        loop.remove_reader(pidfd)
        os.close(pidfd)


@pytest.mark.parametrize("server_settings", [{"precall_max_concurrent": 1}])
async def test_the_echo_runs_in_a_worker_process_and_a_crashed_one_is_replaced(
    server: RunningServer, server_settings: dict[str, Any]
) -> None:
    room = await server.create_room()
    token = room["join_urls"]["guest"].split("#t=")[1]
    running = EchoClient()
    try:
        async with server.client() as client:
            offer = {"token": token, "sdp": await running.offer(), "type": "offer"}
            response = await client.post(f"/s/{room['id']}/check", json=offer)
            assert response.status_code == 200, response.text
            await running.accept(response.json()["sdp"])
            await asyncio.wait_for(running.echoed.wait(), 10)
            [worker] = await asyncio.to_thread(_echo_workers)  # the echo peer is not in the server's process
            busy = await client.post(f"/s/{room['id']}/check", json=offer)
            assert busy.status_code == 429  # the cap holds while a test runs
            await _kill(worker)  # in the middle of that test
        report = await asyncio.wait_for(run_check(room["join_urls"]["guest"], duration_s=2.0), 10)
        # the crashed worker's test gave its place back, and a new worker answered
        assert (report.verdict, report.words, report.connected) == ("video", "video will work", True)
        assert report.video_frames_echoed > 0, report
        [restarted] = await asyncio.to_thread(_echo_workers)
        assert restarted != worker
    finally:
        await running.close()


@pytest.mark.parametrize("server_settings", [{"precall_max_concurrent": 1}])
async def test_an_offer_without_a_dtls_fingerprint_is_refused_before_aiortc_takes_it(
    server: RunningServer, server_settings: dict[str, Any], capfd: pytest.CaptureFixture[str]
) -> None:
    # The probe: aiortc answered such an offer, and once ICE connected its DTLS start failed in a task
    # nobody awaited ("Task exception was never retrieved" in the echo worker's log).
    room = await server.create_room()
    token = room["join_urls"]["guest"].split("#t=")[1]
    client = EchoClient()
    try:
        offer = await client.offer()
        stripped = "".join(line for line in offer.splitlines(True) if not line.startswith("a=fingerprint:"))
        async with server.client() as api:
            response = await api.post(
                f"/s/{room['id']}/check", json={"token": token, "sdp": stripped, "type": "offer"}
            )
        assert response.status_code == 422, response.text
        assert response.json()["code"] == "invalid_offer"
        assert "no DTLS fingerprint" in response.json()["message"]
    finally:
        await client.close()
    # The refused offer gave its place back (the cap is 1): a real test runs at once.
    report = await asyncio.wait_for(run_check(room["join_urls"]["guest"], duration_s=2.0), 10)
    assert report.connected, report
    assert "never retrieved" not in capfd.readouterr().err  # the echo worker logs to this stderr


def _token(room: dict[str, Any], role: str) -> str:
    return str(room["join_urls"][role].split("#t=")[1])


async def test_one_join_link_runs_one_test_at_a_time(server: RunningServer) -> None:
    # The probe: one join token took every place (4), and everyone else got 429.
    room = await server.create_room()
    check = f"/s/{room['id']}/check"
    first, second, host = EchoClient(), EchoClient(), EchoClient()
    try:
        async with server.client() as api:
            started = await api.post(
                check, json={"token": _token(room, "guest"), "sdp": await first.offer(), "type": "offer"}
            )
            assert started.status_code == 200, started.text
            await first.accept(started.json()["sdp"])
            await asyncio.wait_for(first.echoed.wait(), 10)
            offer = {"token": _token(room, "guest"), "sdp": await second.offer(), "type": "offer"}
            again = await api.post(check, json=offer)
            assert again.status_code == 429, again.text
            assert again.json()["code"] == "precall_running" and "Retry-After" in again.headers
            # The room's other person tests at the same time.
            hosting = await api.post(
                check, json={"token": _token(room, "host"), "sdp": await host.offer(), "type": "offer"}
            )
            assert hosting.status_code == 200, hosting.text
            # The verdict ends the guest's test: its echo peer closes, and the link may test again.
            verdict = await api.post(
                f"{check}/verdict", json={"token": _token(room, "guest"), "connected": True}
            )
            assert verdict.status_code == 200, verdict.text
            await asyncio.wait_for(first.ended.wait(), 5)
            retried = await api.post(check, json=offer)
            assert retried.status_code == 200, retried.text
    finally:
        for client in (first, second, host):
            await client.close()


async def test_an_offer_without_audio_or_video_is_refused(server: RunningServer) -> None:
    room = await server.create_room()
    pc = RTCPeerConnection(rtc_configuration([]))
    pc.createDataChannel("chat")
    await pc.setLocalDescription(await pc.createOffer())
    await pc.close()
    async with server.client() as api:
        response = await api.post(
            f"/s/{room['id']}/check",
            json={"token": _token(room, "guest"), "sdp": pc.localDescription.sdp, "type": "offer"},
        )
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "invalid_offer"
    assert "no audio or video to echo (got m=application)" in response.json()["message"]


_STUN_MAGIC_COOKIE = b"\x21\x12\xa4\x42"


async def _first_stun_request(sock: socket.socket, window_s: float) -> bytes | None:
    """The first STUN Binding request ``sock`` receives within ``window_s`` seconds, or ``None``: an
    observation window (the absence of a packet is what is measured), not synchronisation."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + window_s
    while (left := deadline - loop.time()) > 0:
        try:
            data = await asyncio.wait_for(loop.sock_recv(sock, 2048), left)
        except TimeoutError:
            return None
        if data[:2] == b"\x00\x01" and data[4:8] == _STUN_MAGIC_COOKIE:  # RFC 8489 section 5
            return data
    return None


def _listening(host: str) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((host, 0))
    sock.setblocking(False)
    return sock


@pytest.mark.parametrize(
    "server_settings",
    [{"precall_allow_private_candidates": False}, {"precall_allow_private_candidates": True}],
    ids=["default", "lab"],
)
async def test_the_echo_peer_never_probes_the_servers_own_network_for_an_offer(
    server: RunningServer, server_settings: dict[str, Any]
) -> None:
    # The probe: an offer naming loopback, private and metadata addresses as candidates made the echo
    # peer send STUN to each. Two listeners on this machine stand for a local service: one named at
    # 127.0.0.1 (loopback: contacted only in a lab), one at 0.0.0.0 (Linux delivers that to the
    # machine itself: never contacted). Private and metadata addresses are refused by the same
    # filter (tests/media/test_remote_candidates.py); this test sends nothing off the machine.
    allowed = server_settings["precall_allow_private_candidates"]
    room = await server.create_room()
    loopback, this_network = _listening("127.0.0.1"), _listening("0.0.0.0")
    client = EchoClient()
    try:
        offer = await client.offer()
        # Above every real candidate, 0.0.0.0 first: each is the first pair checked once the ones
        # before it are dropped (aioice stops checking once a pair is nominated).
        named = [
            f"a=candidate:98 1 udp 2147483647 0.0.0.0 {this_network.getsockname()[1]} typ host",
            f"a=candidate:99 1 udp 2147483646 127.0.0.1 {loopback.getsockname()[1]} typ host",
        ]
        first = offer.index("a=candidate:")
        offer = offer[:first] + "\r\n".join(named) + "\r\n" + offer[first:]
        async with server.client() as api:
            response = await api.post(
                f"/s/{room['id']}/check", json={"token": _token(room, "guest"), "sdp": offer, "type": "offer"}
            )
        assert response.status_code == 200, response.text
        await client.accept(response.json()["sdp"])
        to_loopback, to_this_network = await asyncio.gather(
            _first_stun_request(loopback, 3.0), _first_stun_request(this_network, 3.0)
        )
        assert to_this_network is None
        assert (to_loopback is not None) is allowed
        await asyncio.wait_for(client.echoed.wait(), 10)  # the test itself works either way
    finally:
        await client.close()
        loopback.close()
        this_network.close()


async def test_duet_check_command_prints_the_verdict(server: RunningServer) -> None:
    room = await server.create_room()
    out, _ = await run_duet("check", room["join_urls"]["guest"], "--duration", "2", "--json")
    report = json.loads(out)
    assert (report["verdict"], report["words"], report["connected"]) == ("video", "video will work", True)
    assert report["video_frames_echoed"] > 0


@pytest.mark.parametrize(
    "server_settings",
    [{"turn_urls": ["turn:127.0.0.1:3478"], "turn_secret": "s3cret", "precall_duration_s": 6}],
)
async def test_config_hands_out_fresh_turn_credentials(
    server: RunningServer, server_settings: dict[str, Any]
) -> None:
    room = await server.create_room()
    token = room["join_urls"]["guest"].split("#t=")[1]
    async with server.client() as client:
        response = await client.post(f"/s/{room['id']}/check/config", json={"token": token})
        refused = await client.post(f"/s/{room['id']}/check/config", json={"token": "nope"})
    assert response.status_code == 200, response.text
    config = response.json()
    assert config["duration_s"] == 6
    [turn] = config["ice_servers"]
    assert turn["urls"] == ["turn:127.0.0.1:3478"]
    expiry, user = turn["username"].split(":")
    assert user == f"{room['id']}.guest" and int(expiry) > time.time()
    assert turn["credential"]
    assert refused.status_code == 401 and refused.json()["code"] == "invalid_token"


@pytest.mark.parametrize(
    ("figures", "verdict", "reasons"),
    [
        (
            {"connected": True, "rtt_s": 0.02, "loss": 0.0, "jitter_s": 0.005, "bitrate_bps": 900_000},
            "video",
            [],
        ),
        (
            {"connected": True, "rtt_s": 0.02, "loss": 0.07, "jitter_s": 0.005, "bitrate_bps": 900_000},
            "audio-only",
            ["packet loss 7.0 % > 5 %"],
        ),
        (
            {"connected": False, "gathered": []},
            "cannot-connect",
            ["your browser or network allows no WebRTC connection: UDP blocked and no relay reachable"],
        ),
        (
            {"connected": False, "gathered": ["host"]},
            "cannot-connect",
            ["the connection checks to the server failed: UDP to the server is blocked"],
        ),
    ],
)
async def test_verdict_in_words(
    server: RunningServer, figures: dict[str, Any], verdict: str, reasons: list[str]
) -> None:
    room = await server.create_room()
    token = room["join_urls"]["guest"].split("#t=")[1]
    async with server.client() as client:
        response = await client.post(f"/s/{room['id']}/check/verdict", json={"token": token, **figures})
    assert response.status_code == 200, response.text
    assert response.json()["verdict"] == verdict
    assert response.json()["reasons"] == reasons


@pytest.mark.parametrize(
    "body",
    [
        {"connected": True, "loss": 1.5},
        {"connected": True, "rtt_s": -1},
        {"connected": False, "gathered": ["x"]},
        {},
    ],
)
async def test_verdict_refuses_nonsense(server: RunningServer, body: dict[str, Any]) -> None:
    room = await server.create_room()
    token = room["join_urls"]["guest"].split("#t=")[1]
    async with server.client() as client:
        response = await client.post(f"/s/{room['id']}/check/verdict", json={"token": token, **body})
        forged = await client.post(f"/s/{room['id']}/check/verdict", json={"token": "x", "connected": True})
    assert response.status_code == 422
    assert response.json()["code"] and response.json()["message"]
    assert forged.status_code == 401


@pytest.mark.parametrize("path", ["/check", "/s/{room}/check"])
async def test_the_check_page_is_served_with_its_security_headers(server: RunningServer, path: str) -> None:
    room = await server.create_room()
    async with server.client() as client:
        response = await client.get(path.format(room=room["id"]))
    assert response.status_code == 200
    assert 'id="precall-run"' in response.text and 'id="paste-form"' in response.text
    assert "script-src 'self'" in response.headers["content-security-policy"]
    assert response.headers["referrer-policy"] == "no-referrer"
