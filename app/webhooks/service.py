"""Webhooks in a running duet: the outbox, the delivery worker and the attendance timers, together."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from app.config import Settings
from app.db import Database
from app.event_log import EventLog
from app.models import utcnow
from app.webhooks.delivery import Deliverer
from app.webhooks.outbox import Outbox

__all__ = ["Webhooks"]

log = logging.getLogger("duet.webhooks")


class Webhooks:
    """Owns the :class:`Outbox` (which the event log writes through) and the :class:`Deliverer`, and
    every ``attendance_check_s`` records the attendance timers' events (no-show, waiting)."""

    def __init__(self, settings: Settings, db: Database, outbox: Outbox, events: EventLog) -> None:
        self.outbox, self._db, self._events = outbox, db, events
        self._every_s = settings.attendance_check_s
        self.deliverer = Deliverer(
            db,
            schedule=settings.webhook_retry_schedule_s,
            timeout_s=settings.webhook_timeout_s,
            disable_after_s=settings.webhook_disable_after_s,
            max_in_flight=settings.webhook_max_in_flight,
            probe_every_s=settings.webhook_probe_s,
            allow_private=settings.env == "development",
            allow_hosts=frozenset(settings.webhook_allow_hosts),
        )
        outbox.on_messages = self.deliverer.wake
        self._task: asyncio.Task[None] | None = None

    @classmethod
    def outbox_for(cls, settings: Settings) -> Outbox:
        return Outbox(no_show_grace_s=settings.no_show_grace_s, waiting_after_s=settings.waiting_after_s)

    def start(self) -> None:
        self.deliverer.start()
        self._task = asyncio.create_task(self._timers(), name="duet-attendance-timers")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        await self.deliverer.close()

    async def check_timers(self) -> int:
        """Record the timer events due now; how many."""
        async with self._db.session() as session, self.outbox.lock:
            due = await self.outbox.due(session, utcnow())
        for room_id, event in due:
            self._events.record(room_id, event)
        return len(due)

    async def _timers(self) -> None:
        while True:
            await asyncio.sleep(self._every_s)
            with contextlib.suppress(Exception):
                try:
                    await self.check_timers()
                except Exception:
                    log.exception("attendance timers failed; trying again")
                    raise
