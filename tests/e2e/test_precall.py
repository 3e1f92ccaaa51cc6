"""The pre-call test end to end: ``run_check`` against a real server's echo peer."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from typing import Any

import pytest
from conftest import RunningServer

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


async def test_duet_check_command_prints_the_verdict(server: RunningServer) -> None:
    room = await server.create_room()
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "app.cli",
        "check",
        room["join_urls"]["guest"],
        "--duration",
        "2",
        "--json",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0, err.decode()
    report = json.loads(out)
    assert (report["verdict"], report["words"], report["connected"]) == ("video", "video will work", True)
    assert report["video_frames_echoed"] > 0
