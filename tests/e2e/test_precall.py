"""The pre-call test end to end: ``run_check`` against a real server's echo peer."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time
from pathlib import Path
from typing import Any

import pytest
from conftest import RunningServer
from duet_process import run_duet
from echo_client import EchoClient

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
