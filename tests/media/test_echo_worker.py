"""The echo worker process (``python -m media.echo_worker``), spoken to through its pipes like the server."""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import AsyncIterator

import pytest
from echo_client import EchoClient

from media.echo_wire import (
    EchoAnswer,
    EchoClosed,
    EchoRefused,
    Refusal,
    StartEcho,
    StopEcho,
    WorkerReply,
    WorkerRequest,
    dump_line,
    parse_reply,
)

NO_ICE_CREDENTIALS = (
    "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\n"
    "a=rtpmap:96 VP8/90000\r\na=setup:actpass\r\na=fingerprint:sha-256 " + ":".join(["AB"] * 32) + "\r\n"
)
"""An offer aiortc refuses with a ValueError: a media section without ice-ufrag and ice-pwd (its DTLS
lines are there: without them the echo peer refuses it before aiortc sees it)."""


class Worker:
    """A running worker process and its pipes."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process

    def send(self, request: WorkerRequest | bytes) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(request if isinstance(request, bytes) else dump_line(request))

    async def reply(self, timeout_s: float = 10) -> WorkerReply:
        assert self.process.stdout is not None
        line = await asyncio.wait_for(self.process.stdout.readline(), timeout_s)
        assert line, "the worker closed its stdout"
        return parse_reply(line)


@pytest.fixture
async def worker(request: pytest.FixtureRequest) -> AsyncIterator[Worker]:
    max_concurrent, max_s = getattr(request, "param", (2, 10.0))
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "media.echo_worker",
        f"--max-concurrent={max_concurrent}",
        f"--max-s={max_s}",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        yield Worker(process)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
        assert process.stdin is not None
        process.stdin.close()


@pytest.fixture
async def client() -> AsyncIterator[EchoClient]:
    echo_client = EchoClient()
    try:
        yield echo_client
    finally:
        await echo_client.close()


@pytest.mark.parametrize("worker", [(2, 1.5)], indirect=True)
async def test_an_echo_runs_until_its_time_limit(worker: Worker, client: EchoClient) -> None:
    worker.send(StartEcho(id=7, sdp=await client.offer(), ice_servers=[]))
    answer = await worker.reply()
    assert isinstance(answer, EchoAnswer) and answer.id == 7, answer
    assert "a=candidate:" in answer.sdp and "abs-send-time" not in answer.sdp
    answered = time.monotonic()
    await client.accept(answer.sdp)
    await asyncio.wait_for(client.echoed.wait(), 10)  # media went there and came back
    assert await worker.reply() == EchoClosed(id=7)
    assert time.monotonic() - answered >= 1.0  # not before its limit (1.5 s from the worker's start)
    await asyncio.wait_for(client.ended.wait(), 5)  # the peer closed its end gracefully


@pytest.mark.parametrize("worker", [(1, 10.0)], indirect=True)
async def test_the_worker_keeps_its_cap_and_a_stop_frees_it(worker: Worker, client: EchoClient) -> None:
    offer = await client.offer()
    worker.send(StartEcho(id=1, sdp=offer, ice_servers=[]))
    assert isinstance(await worker.reply(), EchoAnswer)
    worker.send(StartEcho(id=2, sdp=offer, ice_servers=[]))
    refused = await worker.reply()
    assert isinstance(refused, EchoRefused) and (refused.id, refused.reason) == (2, Refusal.BUSY)
    assert "at most 1 at once" in refused.message
    worker.send(StopEcho(id=1))
    assert await worker.reply() == EchoClosed(id=1)
    worker.send(StopEcho(id=1))  # no longer running: ignored
    worker.send(StartEcho(id=3, sdp=offer, ice_servers=[]))
    assert isinstance(await worker.reply(), EchoAnswer)


async def test_unusable_offers_and_lines_are_refused_and_the_worker_goes_on(
    worker: Worker, client: EchoClient
) -> None:
    worker.send(StartEcho(id=1, sdp=NO_ICE_CREDENTIALS, ice_servers=[]))
    refused = await worker.reply()
    assert isinstance(refused, EchoRefused) and (refused.id, refused.reason) == (1, Refusal.INVALID)
    assert refused.message == "ICE username fragment or password is missing"
    worker.send(b"not json\n")
    worker.send(b'{"type": "start", "id": "x"}\n')
    worker.send(StartEcho(id=2, sdp=await client.offer(), ice_servers=[]))
    answer = await worker.reply()
    assert isinstance(answer, EchoAnswer) and answer.id == 2


async def test_the_worker_closes_its_peers_and_exits_when_its_stdin_ends(
    worker: Worker, client: EchoClient
) -> None:
    worker.send(StartEcho(id=1, sdp=await client.offer(), ice_servers=[]))
    answer = await worker.reply()
    assert isinstance(answer, EchoAnswer)
    await client.accept(answer.sdp)
    await asyncio.wait_for(client.echoed.wait(), 10)
    assert worker.process.stdin is not None
    worker.process.stdin.close()
    assert await worker.reply() == EchoClosed(id=1)
    assert await asyncio.wait_for(worker.process.wait(), 10) == 0
    await asyncio.wait_for(client.ended.wait(), 5)
