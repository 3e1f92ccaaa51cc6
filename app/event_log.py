"""Room events and live flags, written to the database in batches, off the socket path."""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from app import crud
from app.db import Database
from app.models import utcnow
from app.webhooks import store
from app.webhooks.outbox import Outbox
from signaling.events import RoomEvent, event_row

__all__ = ["EventLog"]

log = logging.getLogger("duet.events")


@dataclass(slots=True)
class _LiveChange:
    room_id: str
    live: bool
    at: datetime


class EventLog:
    """Buffers events in memory and writes them in one transaction per flush.

    ``record`` never awaits, so a signaling message is never held up by the database;
    readers call ``flush`` first to see everything recorded so far.
    """

    def __init__(
        self,
        db: Database,
        *,
        flush_interval_s: float,
        observe: Callable[[RoomEvent], None] | None = None,
        outbox: Outbox | None = None,
    ) -> None:
        """``observe(event)`` is told of every event as it is recorded (metrics count them); the
        ``outbox`` writes each batch's webhook messages in the batch's transaction."""
        self._db = db
        self._outbox = outbox
        self._observe = observe
        self._interval = flush_interval_s
        self._events: list[dict[str, Any]] = []
        """Rows of the ``event`` table (plain dicts: see ``crud.add_events``)."""
        self._live: list[_LiveChange] = []
        self._wake = asyncio.Event()
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None

    def record(self, room_id: str, event: RoomEvent) -> None:
        """Store ``event`` of room ``room_id`` with the next flush, stamped now."""
        self._events.append({"room_id": room_id, **event_row(event), "at": utcnow()})
        self._wake.set()
        if self._observe is not None:
            self._observe(event)

    def mark_live(self, room_id: str, live: bool) -> None:
        self._live.append(_LiveChange(room_id, live, utcnow()))
        self._wake.set()

    async def flush(self) -> None:
        async with self._lock:
            events, self._events = self._events, []
            changes, self._live = self._live, []
            if not events and not changes:
                return
            rooms = {str(e["room_id"]) for e in events}
            messages: list[dict[str, Any]] = []
            try:
                async with self._db.session() as session:  # one transaction, one commit, per batch
                    # In order, a statement per run of changes of one kind (rooms seldom flip twice
                    # within one batch, so that is one or two statements).
                    for live, run in itertools.groupby(changes, key=lambda change: change.live):
                        run_ = list(run)
                        if live:
                            await crud.set_live_many(session, since=[(c.room_id, c.at) for c in run_])
                        else:
                            await crud.clear_live_many(session, room_ids=[c.room_id for c in run_])
                    if self._outbox is None:
                        await crud.add_events(session, events=events)
                    else:
                        async with self._outbox.lock:
                            await self._outbox.prepare(session, rooms)  # from what is stored before
                            await crud.add_events(session, events=events)
                            messages = self._outbox.messages(events)
                            await store.add_messages(session, rows=messages)
                    await session.commit()
            except Exception:
                log.exception("could not write %d events; keeping them for the next flush", len(events))
                self._events[:0], self._live[:0] = events, changes
                if self._outbox is not None:
                    self._outbox.forget(rooms)  # they saw events that were not stored
                raise
            if messages and self._outbox is not None:
                self._outbox.sent()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="duet-event-log")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        await self.flush()

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            await asyncio.sleep(self._interval)  # a batching window, not a synchronisation
            try:
                await self.flush()
            except Exception:  # logged in flush; retried on the next wake
                await asyncio.sleep(1.0)
                self._wake.set()
