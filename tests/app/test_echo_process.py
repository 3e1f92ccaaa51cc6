"""The server's side of the pre-call echo: the peers run in a worker process; the cap stays here."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from echo_client import EchoClient

from app.echo_process import EchoProcess, EchoTestRunning, EchoUnavailable
from media.echo_peer import EchoPeersBusy


@pytest.fixture
async def clients() -> AsyncIterator[list[EchoClient]]:
    """Echo clients a test makes; all closed at its end."""
    made: list[EchoClient] = []
    try:
        yield made
    finally:
        for client in made:
            await client.close()


async def _connect(echo: EchoProcess, clients: list[EchoClient], holder: str | None = None) -> EchoClient:
    """A new client whose offer ``echo`` answered (for ``holder``), once its media has come back."""
    client = EchoClient()
    clients.append(client)
    await client.accept(await echo.answer(await client.offer(), [], holder=holder))
    await asyncio.wait_for(client.echoed.wait(), 10)
    return client


def _cmdline(pid: int) -> str:
    return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()


@pytest.mark.parametrize("allow_private", [False, True])
async def test_the_echo_peer_runs_in_a_worker_process(clients: list[EchoClient], allow_private: bool) -> None:
    echo = EchoProcess(max_concurrent=2, max_s=10, allow_private_candidates=allow_private)
    try:
        assert echo.pid is None  # started with the first test, not before
        await _connect(echo, clients)
        assert echo.pid is not None and echo.pid != os.getpid()
        flag = " --allow-private-candidates" if allow_private else ""
        assert _cmdline(echo.pid).endswith(f"-m media.echo_worker --max-concurrent=2 --max-s=10{flag} ")
        await _connect(echo, clients)  # the same worker serves the next test
        assert len(echo) == 2
    finally:
        await echo.close()


async def test_the_cap_holds_here_and_the_worker_time_limit_frees_it(clients: list[EchoClient]) -> None:
    echo = EchoProcess(max_concurrent=1, max_s=1.5)
    try:
        first = await _connect(echo, clients)
        with pytest.raises(EchoPeersBusy, match="1 connection tests are running; at most 1 at once"):
            await echo.answer("v=0", [])  # refused here: never sent to the worker
        await asyncio.wait_for(first.ended.wait(), 10)  # the worker's limit closed the peer
        await asyncio.wait_for(echo.wait_idle(), 5)  # and the worker told the server
        await _connect(echo, clients)
    finally:
        await echo.close()


async def test_one_test_at_a_time_per_holder_and_a_stopped_one_frees_its_place(
    clients: list[EchoClient],
) -> None:
    echo = EchoProcess(max_concurrent=3, max_s=10)
    try:
        guest = await _connect(echo, clients, holder="room.guest")
        with pytest.raises(EchoTestRunning, match=r"for room\.guest is running already"):
            await echo.answer("v=0", [], holder="room.guest")  # refused here: never sent to the worker
        await _connect(echo, clients, holder="room.host")  # the room's other link has its own
        echo.stop("room.guest")  # its client is done with it
        assert len(echo) == 1  # its place is free at once
        await asyncio.wait_for(guest.ended.wait(), 5)  # and the worker closed its peer
        await _connect(echo, clients, holder="room.guest")
        echo.stop("nobody")  # no test: nothing to stop
        assert len(echo) == 2
    finally:
        await echo.close()


async def test_a_killed_worker_ends_its_tests_and_the_next_test_starts_another(
    clients: list[EchoClient],
) -> None:
    echo = EchoProcess(max_concurrent=1, max_s=10)
    try:
        await _connect(echo, clients)
        killed = echo.pid
        assert killed is not None
        os.kill(killed, signal.SIGKILL)
        await asyncio.wait_for(echo.wait_idle(), 5)  # its test no longer holds the only place
        await _connect(echo, clients)
        assert echo.pid not in (None, killed)
    finally:
        await echo.close()


async def test_an_offer_aiortc_refuses_is_a_value_error() -> None:
    echo = EchoProcess(max_concurrent=1, max_s=10)
    offer = (
        "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\n"
        "a=setup:actpass\r\na=fingerprint:sha-256 " + ":".join(["AB"] * 32) + "\r\n"
    )
    try:
        with pytest.raises(ValueError, match="ICE username fragment or password is missing"):
            await echo.answer(offer, [])
        assert len(echo) == 0
    finally:
        await echo.close()


async def test_close_stops_the_worker_and_its_peers(clients: list[EchoClient]) -> None:
    echo = EchoProcess(max_concurrent=1, max_s=10)
    client = await _connect(echo, clients)
    pid = echo.pid
    await echo.close()
    await asyncio.wait_for(client.ended.wait(), 5)  # the peer said goodbye before the worker exited
    assert pid is not None and echo.pid is None and len(echo) == 0
    with pytest.raises(ProcessLookupError):  # exited and reaped
        os.kill(pid, 0)
    with pytest.raises(EchoUnavailable, match="stopped"):
        await echo.answer("v=0", [])


@pytest.mark.parametrize(
    "command",
    [("/nonexistent/python",), (sys.executable, "-c", "pass")],
    ids=["cannot-start", "exits-at-once"],
)
async def test_a_worker_that_does_not_run_is_unavailable(command: tuple[str, ...]) -> None:
    echo = EchoProcess(max_concurrent=1, max_s=10, command=command)
    try:
        with pytest.raises(EchoUnavailable, match="echo worker"):
            await echo.answer("v=0", [])
        assert len(echo) == 0  # its place is free again
    finally:
        await echo.close()
