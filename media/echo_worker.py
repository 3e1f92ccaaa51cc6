"""The pre-call test's echo peers in a process of their own.

``python -m media.echo_worker --max-concurrent N --max-s S [--allow-private-candidates]``. The
server (``app/echo_process.py``) starts it and speaks ``media/echo_wire.py`` with it: requests on
stdin, replies on stdout, one JSON object a line. Every bit of an echo peer's work (ICE, DTLS, SRTP,
decoding and re-encoding the echo) runs on this process's own event loop, none on the loop that
serves the signaling sockets, and at a lower priority (:data:`NICENESS`).

The worker keeps the hard time limit (:class:`~media.echo_peer.EchoPeers` closes each peer after
``max_s``) and the same cap as the server, in case both ever disagree. It ends when its stdin closes
(the server stopped, or died), closing its peers first; it ignores SIGINT, which a terminal sends to
the server's whole process group, and leaves the shutdown to the server. Log lines, and anything a
library prints, go to stderr: stdout carries the protocol only.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal
import sys
from collections.abc import Callable, Sequence
from typing import BinaryIO

from media.echo_peer import EchoPeers, EchoPeersBusy
from media.echo_wire import (
    MAX_LINE_BYTES,
    EchoAnswer,
    EchoClosed,
    EchoRefused,
    Refusal,
    StartEcho,
    StopEcho,
    WorkerReply,
    WorkerRequest,
    dump_line,
    parse_request,
)

__all__ = ["EchoWorker", "main", "serve"]

_log = logging.getLogger(__name__)


class EchoWorker:
    """Answers the server's requests with :class:`EchoPeers`; ``send`` writes one reply."""

    def __init__(self, peers: EchoPeers, send: Callable[[WorkerReply], None]) -> None:
        self._peers = peers
        self._send = send
        self._tests: dict[int, asyncio.Task[WorkerReply]] = {}
        """Each test's task, by the server's id: it starts the peer and waits for it to close."""

    def handle(self, request: WorkerRequest) -> None:
        """Act on one request; replies follow through ``send`` as things happen."""
        if isinstance(request, StopEcho):
            task = self._tests.get(request.id)
            if task is not None:
                task.cancel()
            return
        if request.id in self._tests:
            raise ValueError(f"'start' expects a new test id, got {request.id}, which is running")
        task = asyncio.create_task(self._run(request), name=f"duet-echo-{request.id}")
        self._tests[request.id] = task
        task.add_done_callback(lambda done: self._finished(request.id, done))

    async def _run(self, request: StartEcho) -> WorkerReply:
        """The test's last reply: ``closed`` once its peer has closed, or why it never started."""
        try:
            peer, answer_sdp = await self._peers.start(request.sdp, request.ice_servers)
        except EchoPeersBusy as exc:
            return EchoRefused(id=request.id, reason=Refusal.BUSY, message=str(exc))
        except ValueError as exc:  # aiortc refuses an SDP it cannot parse or use
            return EchoRefused(id=request.id, reason=Refusal.INVALID, message=str(exc))
        except Exception as exc:
            _log.exception("pre-call echo %d failed", request.id)
            return EchoRefused(id=request.id, reason=Refusal.FAILED, message=f"{type(exc).__name__}: {exc}")
        try:
            self._send(EchoAnswer(id=request.id, sdp=answer_sdp))
            await peer.closed.wait()
        finally:
            await peer.close()  # after a stop (cancelled); nothing to do when it closed itself
        return EchoClosed(id=request.id)

    def _finished(self, test_id: int, task: asyncio.Task[WorkerReply]) -> None:
        # A done callback runs even for a task stopped before it ever ran.
        del self._tests[test_id]
        self._send(EchoClosed(id=test_id) if task.cancelled() else task.result())

    async def close(self) -> None:
        """Stop every test (their peers close) and wait for them."""
        tasks = list(self._tests.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self._peers.close()


async def serve(
    *,
    max_concurrent: int,
    max_s: float,
    requests: BinaryIO,
    replies: BinaryIO,
    allow_private_candidates: bool = False,
) -> None:
    """Answer the requests read from ``requests`` until it ends, writing replies to ``replies``;
    ``allow_private_candidates`` as :class:`~media.echo_peer.EchoPeer`'s."""
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=MAX_LINE_BYTES)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), requests)
    out, _ = await loop.connect_write_pipe(asyncio.Protocol, replies)
    peers = EchoPeers(
        max_concurrent=max_concurrent, max_s=max_s, allow_private_candidates=allow_private_candidates
    )
    worker = EchoWorker(peers, send=lambda reply: out.write(dump_line(reply)))
    try:
        while line := await reader.readline():
            try:
                worker.handle(parse_request(line))
            except ValueError as exc:
                _log.error("ignoring a request: %s", exc)
    finally:
        await worker.close()
        out.close()


def _arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m media.echo_worker", description=__doc__.splitlines()[0])
    parser.add_argument("--max-concurrent", type=int, required=True, help="echo peers running at once")
    parser.add_argument("--max-s", type=float, required=True, help="hard limit on one echo peer, seconds")
    parser.add_argument(
        "--allow-private-candidates",
        action="store_true",
        help="contact the client's loopback, link-local, private and CGNAT candidates (labs)",
    )
    return parser.parse_args(argv)


NICENESS = 10
"""The worker runs 10 steps nicer than the server: on a busy machine the kernel gives the signaling
loop about ten times the worker's share of CPU (Linux CFS weights: 1024 against 110), so a pre-call
test's decoding and encoding slows the test's own frames, never the replies to thousands of sockets
(measured in bench/README.md)."""


def main(argv: Sequence[str] | None = None) -> None:
    """The worker's entry point: the protocol on stdin/stdout, everything else on stderr."""
    args = _arguments(argv)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    with contextlib.suppress(OSError):  # media yields the CPU to the signaling loop when both want it
        os.nice(NICENESS)
    replies = os.fdopen(os.dup(sys.stdout.fileno()), "wb", buffering=0)
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # a stray print cannot corrupt a reply
    logging.basicConfig(
        level=logging.WARNING, format="duet echo worker %(process)d: %(levelname)s %(message)s"
    )
    with contextlib.suppress(BrokenPipeError):
        asyncio.run(
            serve(
                max_concurrent=args.max_concurrent,
                max_s=args.max_s,
                requests=sys.stdin.buffer,
                replies=replies,
                allow_private_candidates=args.allow_private_candidates,
            )
        )


if __name__ == "__main__":
    main()
