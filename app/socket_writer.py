"""One socket's outbound frames: written at once while the client reads, else a bounded queue
drained by the socket's own task, with deadlines.

Deciding to send never waits for a client: :meth:`SocketWriter.send` returns at once. While the
socket's transport is writable and nothing is queued, the frame is written there and then (the
direct path of app/ws_protocol.py: no task switch for the common case). Otherwise it is queued, and
the socket's own writer task (started when needed, gone when the queue is empty) awaits the socket
one frame at a time, in order, each within ``send_timeout_s``. A client that stops reading fills its
transport, then this queue; once the queue holds more than ``max_queued_bytes``, or one frame waits
longer than ``send_timeout_s``, the writer gives up on it: it drops the connection and tells its
owner through ``on_stalled``, so the room treats it as any dropped socket (the other person sees
"reconnecting"). Nobody else ever awaits this socket (STYLE.md, convention 16).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import enum
import logging
from collections.abc import Callable
from typing import Protocol

from signaling.messages import CloseCode

__all__ = ["CLOSE_TIMEOUT_S", "Socket", "SocketWriter", "WriterState"]

log = logging.getLogger("duet.signaling")


class Socket(Protocol):
    """What the writer needs of a WebSocket (Starlette's fits)."""

    async def send_text(self, data: str) -> None: ...

    async def close(self, code: int = 1000, reason: str | None = None) -> None: ...


class WriterState(enum.Enum):
    """Where a writer is: sending, closing after its queued frames, closed, or given up on."""

    OPEN = "open"
    CLOSING = "closing"
    CLOSED = "closed"
    STALLED = "stalled"
    """The client did not read in time: the connection was dropped."""


CLOSE_TIMEOUT_S = 2.0
"""Seconds the frames queued before a close, and the close frame, may take to leave before the
connection is dropped instead (a client that stopped reading cannot take them; uvicorn would
otherwise keep the connection, and its buffers, until TCP gives up)."""


class SocketWriter:
    """Sends one socket's frames in order; never blocks the caller."""

    def __init__(
        self,
        socket: Socket,
        *,
        max_queued_bytes: int,
        send_timeout_s: float,
        send_now: Callable[[str], bool] | None = None,
        abort: Callable[[], None] | None = None,
        on_stalled: Callable[[], None] | None = None,
        name: str = "duet-socket-writer",
    ) -> None:
        """``send_now`` writes a frame at once if the transport is writable (``False``: it is not);
        ``abort`` drops the connection at once (both from app/ws_protocol.py's direct path);
        ``on_stalled`` is called once if the writer gives up on a client that does not read."""
        self._socket = socket
        self._max_bytes = max_queued_bytes
        self._timeout_s = send_timeout_s
        self._send_now = send_now
        self._abort = abort
        self._on_stalled = on_stalled
        self._name = name
        self._frames: collections.deque[str] = collections.deque()
        self._queued_bytes = 0
        self._close: tuple[int, str] | None = None
        self._overdue: asyncio.TimerHandle | None = None
        self._task: asyncio.Task[None] | None = None
        self.state = WriterState.OPEN

    @property
    def queued_bytes(self) -> int:
        """Characters of frames waiting in this queue (not yet handed to the socket)."""
        return self._queued_bytes

    def send(self, text: str) -> bool:
        """Send or queue one frame; ``False`` if the socket is closing or was just given up on."""
        if self.state is not WriterState.OPEN:
            return False
        if not self._frames and self._send_now is not None and self._send_now(text):
            return True
        if self._queued_bytes + len(text) > self._max_bytes:
            self._stall(f"more than {self._max_bytes} bytes queued")
            return False
        self._frames.append(text)
        self._queued_bytes += len(text)
        self._drain()
        return True

    def close(self, code: CloseCode, reason: str) -> None:
        """Close after the frames already queued, all within ``CLOSE_TIMEOUT_S`` (else the connection
        is dropped); later frames are dropped."""
        if self.state is not WriterState.OPEN:
            return
        self.state = WriterState.CLOSING
        self._close = (int(code), reason[:120])
        self._overdue = asyncio.get_running_loop().call_later(CLOSE_TIMEOUT_S, self._close_overdue)
        self._drain()

    async def wait_closed(self) -> None:
        """Wait until the queued frames and the close frame have left, or the connection was dropped
        (at most ``CLOSE_TIMEOUT_S`` after :meth:`close`)."""
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.shield(self._task)

    def cancel(self) -> None:
        """The socket is gone (its receive loop ended): stop, dropping whatever is queued."""
        if self.state in (WriterState.OPEN, WriterState.CLOSING):
            self.state = WriterState.CLOSED
        self._frames.clear()
        self._queued_bytes = 0
        self._cancel_overdue()
        if self._task is not None and not self._task.done():
            self._task.cancel()

    def _drain(self) -> None:
        """Make sure the writer task runs (it ends whenever the queue is empty)."""
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name=self._name)

    async def _run(self) -> None:
        try:
            while self._frames:
                text = self._frames[0]
                try:
                    async with asyncio.timeout(self._timeout_s):
                        await self._socket.send_text(text)
                except TimeoutError:
                    self._stall(f"a frame waited more than {self._timeout_s:g} s")
                    return
                except Exception:  # the socket died under us; its receive loop cleans up
                    self.state = WriterState.CLOSED
                    return
                self._frames.popleft()
                self._queued_bytes -= len(text)
            if self._close is not None:
                with contextlib.suppress(Exception):  # already gone
                    await self._socket.close(code=self._close[0], reason=self._close[1])
                self.state = WriterState.CLOSED
                self._cancel_overdue()
        except asyncio.CancelledError:
            if self.state is not WriterState.STALLED:
                raise
            # _stall cancelled us: swallowed, so nobody is left with an unretrieved error
        finally:
            if self.state is WriterState.OPEN:
                self._task = None  # idle: the next queued frame starts a new task

    def _close_overdue(self) -> None:
        self._overdue = None
        if self.state is WriterState.CLOSING:
            self._stall(f"its close took more than {CLOSE_TIMEOUT_S:g} s")

    def _cancel_overdue(self) -> None:
        if self._overdue is not None:
            self._overdue.cancel()
            self._overdue = None

    def _stall(self, why: str) -> None:
        if self.state is WriterState.STALLED:
            return
        log.warning("dropping a socket that does not read: %s", why)
        self.state = WriterState.STALLED
        self._frames.clear()
        self._queued_bytes = 0
        self._cancel_overdue()
        if self._task is not None and asyncio.current_task() is not self._task:
            self._task.cancel()
        self._drop()
        if self._on_stalled is not None:
            self._on_stalled()

    def _drop(self) -> None:
        """Drop the connection without waiting for the client (a close frame cannot get through)."""
        if self._abort is not None:
            self._abort()
            return
        # Not served through duet's protocol class: ask for a close, without waiting for it.
        closing = asyncio.ensure_future(self._socket.close(code=int(CloseCode.SLOW_CONSUMER)))
        closing.add_done_callback(lambda done: done.cancelled() or done.exception())
