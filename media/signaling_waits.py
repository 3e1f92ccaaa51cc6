"""Waiting on a participant's signaling: for an event or a server frame, ended early when the socket closes.

A caller waiting for ``welcome``, a connection or a ``mode`` frame must not sit out its whole
timeout when the server has already closed the socket (a refused token, an ended room): the wait
ends at once with :class:`~media.errors.SignalingClosedError`, which says why the socket closed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from media.errors import SignalingClosedError
from signaling.messages import ServerMessage

__all__ = ["SignalingWaits"]


class _FrameWaiter:
    """Someone waiting for a server frame that ``matches``."""

    __slots__ = ("arrived", "matches", "message")

    def __init__(self, matches: Callable[[ServerMessage], bool]) -> None:
        self.matches = matches
        self.arrived = asyncio.Event()
        self.message: ServerMessage | None = None


class SignalingWaits:
    """Waits that end with ``closed_error(what)`` as soon as ``signaling_done`` is set.

    The signaling reader calls :meth:`arrived` with every server frame, after handling it.
    """

    def __init__(
        self, signaling_done: asyncio.Event, closed_error: Callable[[str], SignalingClosedError]
    ) -> None:
        self._done = signaling_done
        self._closed_error = closed_error
        self._waiters: list[_FrameWaiter] = []

    def arrived(self, message: ServerMessage) -> None:
        """A frame came from the server: wake whoever waits for one like it."""
        for waiter in self._waiters:
            if waiter.message is None and waiter.matches(message):
                waiter.message = message
                waiter.arrived.set()

    async def event(self, event: asyncio.Event, what: str, timeout_s: float) -> None:
        """Wait until ``event`` is set; ``TimeoutError`` after ``timeout_s`` seconds."""
        async with asyncio.timeout(timeout_s):
            if not event.is_set():
                await _first_set(event, self._done)
        if not event.is_set():
            raise self._closed_error(what)

    async def frame(
        self, matches: Callable[[ServerMessage], bool], what: str, timeout_s: float
    ) -> ServerMessage:
        """The next server frame that ``matches`` (frames that came before the call do not count)."""
        waiter = _FrameWaiter(matches)
        self._waiters.append(waiter)
        try:
            await self.event(waiter.arrived, what, timeout_s)
        finally:
            self._waiters.remove(waiter)
        assert waiter.message is not None
        return waiter.message


async def _first_set(*events: asyncio.Event) -> None:
    waiters = [asyncio.create_task(event.wait()) for event in events]
    try:
        await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()
        await asyncio.gather(*waiters, return_exceptions=True)
