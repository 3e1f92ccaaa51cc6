"""The pre-call test's echo peers, seen from the server: they run in a worker process.

An echo peer's aiortc work (ICE, DTLS, SRTP, decoding and re-encoding the echo) would otherwise
compete with every signaling socket for the server's event loop. :class:`EchoProcess` starts
``python -m media.echo_worker`` on the first test (and again after it died), speaks
``media/echo_wire.py`` with it through asyncio pipes (nothing here blocks the loop), and keeps the
caps: it knows which tests are running, so refusing one more (over the cap, or a second one for the
same join link) costs no trip to the worker.

A test counts from its request until the worker says its peer closed, or the worker dies. The worker
enforces the hard time limit; the server forgets a test by itself ``_FORGET_GRACE_S`` after that
limit, should a closure never come.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import sys
from collections.abc import Sequence
from dataclasses import dataclass

from media.echo_peer import EchoPeersBusy
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
    parse_reply,
)
from signaling.messages import IceServer

__all__ = ["EchoProcess", "EchoTestRunning", "EchoUnavailable"]

_log = logging.getLogger(__name__)

_FORGET_GRACE_S = 5.0
"""Seconds past the time limit before the server forgets a test the worker never said closed: the
worker's clock starts later (after the pipe, and on a first test after the worker's start, ~0.5 s)."""
_STOP_S = 5.0
"""Seconds the worker gets to close its peers after its stdin closes, before it is killed."""


class EchoUnavailable(Exception):
    """No echo peer could be had: the worker failed, died, did not answer in time, or was stopped."""


class EchoTestRunning(Exception):
    """The same holder's previous test is still running: one test at a time per holder."""


@dataclass(eq=False)
class _Worker:
    """One run of the worker process; ``alive`` until its replies end."""

    process: asyncio.subprocess.Process
    alive: bool = True


@dataclass(eq=False)
class _Test:
    """One running test: who runs it, the worker it runs on, its answer to come, and the timer that
    forgets it."""

    answer: asyncio.Future[str]
    forget: asyncio.TimerHandle
    holder: str | None
    worker: _Worker | None = None


class EchoProcess:
    """The running pre-call tests' echo peers: at most ``max_concurrent``, at most one per holder,
    each closed after ``max_s`` seconds, all in one worker process. ``allow_private_candidates``: the
    echo peers contact the client's loopback, link-local, private and CGNAT candidates
    (:mod:`media.remote_candidates`). ``command`` replaces the worker's command line (tests)."""

    def __init__(
        self,
        *,
        max_concurrent: int,
        max_s: float,
        allow_private_candidates: bool = False,
        command: Sequence[str] = (),
    ) -> None:
        self.max_concurrent = max_concurrent
        self.max_s = max_s
        """Hard limit on one test, in seconds from the worker's answer."""
        self._command = tuple(command) or (
            sys.executable,
            "-m",
            "media.echo_worker",
            f"--max-concurrent={max_concurrent}",
            f"--max-s={max_s}",
            *(["--allow-private-candidates"] if allow_private_candidates else []),
        )
        self._tests: dict[int, _Test] = {}
        self._ids = itertools.count(1)
        self._worker: _Worker | None = None
        self._readers: set[asyncio.Task[None]] = set()
        """Each worker's reply reader, until its worker has exited and been reaped."""
        self._starting = asyncio.Lock()
        self._idle = asyncio.Event()
        self._idle.set()
        self._closed = False

    def __len__(self) -> int:
        return len(self._tests)

    async def wait_idle(self) -> None:
        """Return once no test is running (each closed, refused or forgotten)."""
        await self._idle.wait()

    @property
    def pid(self) -> int | None:
        """The worker's process id, while it runs."""
        return self._worker.process.pid if self._worker is not None and self._worker.alive else None

    async def answer(
        self, offer_sdp: str, ice_servers: Sequence[IceServer], *, holder: str | None = None
    ) -> str:
        """The answer SDP of a new echo peer for ``offer_sdp``, run for ``holder`` (a join link, say;
        ``None``: nobody in particular). Raises :class:`EchoTestRunning` while that holder's previous
        test runs, :class:`EchoPeersBusy` when the cap is reached, :class:`ValueError` for an offer
        the echo peer refuses, :class:`EchoUnavailable`."""
        if self._closed:
            raise EchoUnavailable("the echo worker has been stopped")
        if holder is not None and any(test.holder == holder for test in self._tests.values()):
            raise EchoTestRunning(f"a connection test for {holder} is running already")
        if len(self._tests) >= self.max_concurrent:
            raise EchoPeersBusy(
                f"{len(self._tests)} connection tests are running; at most {self.max_concurrent} at once"
            )
        loop = asyncio.get_running_loop()
        test_id = next(self._ids)
        limit_s = self.max_s + _FORGET_GRACE_S
        forget = loop.call_later(limit_s, self._forget, test_id)
        test = _Test(answer=loop.create_future(), forget=forget, holder=holder)
        self._tests[test_id] = test
        self._idle.clear()
        try:
            test.worker = await self._running_worker()
            self._write(test.worker, StartEcho(id=test_id, sdp=offer_sdp, ice_servers=list(ice_servers)))
            return await asyncio.wait_for(test.answer, limit_s)
        except BaseException as exc:
            if test_id in self._tests:  # abandoned here (timed out, cancelled) while the worker may run it
                self._forget(test_id)
                if test.worker is not None and test.worker.alive:
                    self._write(test.worker, StopEcho(id=test_id))
            if isinstance(exc, TimeoutError):
                raise EchoUnavailable(f"the echo worker did not answer in {limit_s:g} s") from None
            raise

    def stop(self, holder: str) -> None:
        """End ``holder``'s running test now, if there is one (its client is done with it): its place
        is free at once, and the worker closes its peer."""
        for test_id, test in list(self._tests.items()):
            if test.holder == holder:
                self._forget(test_id, EchoUnavailable("the test was stopped"))
                if test.worker is not None and test.worker.alive:
                    self._write(test.worker, StopEcho(id=test_id))

    async def close(self) -> None:
        """Stop the worker (it closes its peers first); later tests raise :class:`EchoUnavailable`."""
        self._closed = True
        worker, self._worker = self._worker, None
        if worker is not None:
            await _stop(worker)
        await asyncio.gather(*self._readers)  # workers that died: reaped
        for test_id in list(self._tests):
            self._forget(test_id)

    async def _running_worker(self) -> _Worker:
        async with self._starting:
            if self._worker is None or not self._worker.alive:
                self._worker = await self._start_worker()
            return self._worker

    async def _start_worker(self) -> _Worker:
        try:
            process = await asyncio.create_subprocess_exec(
                *self._command,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                limit=MAX_LINE_BYTES,
            )
        except OSError as exc:
            raise EchoUnavailable(f"the echo worker could not start: {exc}") from None
        worker = _Worker(process)
        reader = asyncio.create_task(self._read(worker), name=f"duet-echo-worker-{process.pid}")
        self._readers.add(reader)
        reader.add_done_callback(self._readers.discard)
        _log.info("pre-call echo worker started: pid %d", process.pid)
        return worker

    def _write(self, worker: _Worker, request: WorkerRequest) -> None:
        # No drain: at most max_concurrent starts (each under 1 MiB) wait in the pipe at once.
        assert worker.process.stdin is not None
        worker.process.stdin.write(dump_line(request))

    async def _read(self, worker: _Worker) -> None:
        assert worker.process.stdout is not None
        try:
            while line := await worker.process.stdout.readline():
                try:
                    reply = parse_reply(line)
                except ValueError as exc:
                    _log.error("ignoring the echo worker's line: %s", exc)
                    continue
                self._on_reply(reply)
        except ValueError as exc:  # a line over MAX_LINE_BYTES: the stream is lost
            _log.error("the echo worker's replies cannot be read any more: %s", exc)
            with contextlib.suppress(ProcessLookupError):
                worker.process.kill()
        finally:
            self._worker_ended(worker)
        returncode = await worker.process.wait()
        assert worker.process.stdin is not None
        worker.process.stdin.close()  # its last pipe: the transport can finish
        if not self._closed:
            _log.warning("pre-call echo worker %d exited with %s", worker.process.pid, returncode)

    def _on_reply(self, reply: WorkerReply) -> None:
        test = self._tests.get(reply.id)
        if test is None:  # a test already forgotten: refused, stopped or timed out here
            return
        if isinstance(reply, EchoAnswer):
            if not test.answer.done():
                test.answer.set_result(reply.sdp)
            return
        if isinstance(reply, EchoRefused):
            self._forget(reply.id, _refusal_error(reply))
        elif isinstance(reply, EchoClosed):
            self._forget(reply.id, EchoUnavailable("the echo peer closed before it answered"))

    def _worker_ended(self, worker: _Worker) -> None:
        """Its tests ended with it; the next test starts a new worker."""
        worker.alive = False
        if self._worker is worker:
            self._worker = None
        for test_id, test in list(self._tests.items()):
            if test.worker is worker:
                self._forget(test_id, EchoUnavailable("the echo worker stopped"))

    def _forget(self, test_id: int, error: Exception | None = None) -> None:
        test = self._tests.pop(test_id, None)
        if test is None:
            return
        test.forget.cancel()
        if not self._tests:
            self._idle.set()
        if not test.answer.done():
            test.answer.set_exception(error or EchoUnavailable("the echo worker did not answer in time"))


def _refusal_error(reply: EchoRefused) -> Exception:
    if reply.reason is Refusal.BUSY:
        return EchoPeersBusy(reply.message)
    if reply.reason is Refusal.INVALID:
        return ValueError(reply.message)
    return EchoUnavailable(f"the echo worker failed: {reply.message}")


async def _stop(worker: _Worker) -> None:
    """Close the worker's stdin (it then closes its peers and exits); kill it if it takes too long."""
    assert worker.process.stdin is not None
    worker.process.stdin.close()
    try:
        await asyncio.wait_for(worker.process.wait(), _STOP_S)
    except TimeoutError:
        _log.warning("pre-call echo worker %d did not stop in %g s; killing it", worker.process.pid, _STOP_S)
        with contextlib.suppress(ProcessLookupError):
            worker.process.kill()
        await worker.process.wait()
