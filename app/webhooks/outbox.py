"""The outbox: each stored room event becomes its public events, and a message per endpoint that
wants them, written in the same transaction as the event (nothing is told that was not stored, and
nothing stored goes untold, whatever stops the process).

Each room in use has a :class:`~app.attendance.SessionTracker`, rebuilt from the room's stored events
the first time this process sees the room (so the sequence numbers go on where the last process left
them), then fed every new event. The event log calls :meth:`Outbox.prepare` before it inserts a
batch (trackers are read from what is stored before it) and :meth:`Outbox.messages` after.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from app import crud
from app.attendance import RoomFacts, SessionTracker, no_show_grace_s
from app.models import Participant, Room, utcnow
from app.webhooks import store
from app.webhooks.catalogue import PublicEvent, delivery_body
from app.webhooks.models import DeliveryStatus, WebhookEndpoint
from signaling.events import RoomEvent, parse_event
from signaling.messages import Role

__all__ = ["Outbox"]

MAX_TRACKED_ROOMS = 20_000
"""Rooms whose tracker stays in memory (least recently used first out; rebuilt from the database
when needed again). ~2 KB each."""
ENDPOINTS_FRESH_S = 1.0
"""Endpoints are read again at most this often (and at once after a change through the API)."""
NO_SHOW_LOOKBACK = timedelta(days=2)
"""Rooms that started longer ago than this are not looked at for a no-show verdict any more."""


@dataclass(frozen=True, slots=True)
class _Target:
    endpoint: WebhookEndpoint
    admin: bool

    def wants(self, event_type: str, room_key: int | None) -> bool:
        scoped = self.admin or (room_key is not None and self.endpoint.api_key_id == room_key)
        return scoped and (not self.endpoint.event_types or event_type in self.endpoint.event_types)


@dataclass(slots=True)
class _Room:
    tracker: SessionTracker
    api_key_id: int | None


class Outbox:
    """Trackers per room, the endpoints, and the outbox rows of each batch of events."""

    def __init__(
        self, *, no_show_grace_s: float, waiting_after_s: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._grace_s, self._waiting_s = no_show_grace_s, waiting_after_s
        self._rooms: OrderedDict[str, _Room] = OrderedDict()
        self._targets: list[_Target] = []
        self._targets_read_at: float | None = None
        self._clock = clock
        self.lock = asyncio.Lock()
        """Held while trackers are read from the database and fed a batch (the event log's flush,
        the timers): a tracker must see each stored event once."""
        self.on_messages: Callable[[], None] | None = None
        """Told after a batch that wrote messages was stored (the delivery worker wakes)."""

    def endpoints_changed(self) -> None:
        self._targets_read_at = None

    # --- the event log's two calls, in its transaction ------------------------------------------

    async def prepare(self, session: AsyncSession, room_ids: Iterable[str]) -> None:
        """Trackers for ``room_ids`` that are not in memory, from what is stored (one query each kind)."""
        missing = [room_id for room_id in dict.fromkeys(room_ids) if room_id not in self._rooms]
        if missing:
            await self._load(session, missing)
        now = self._clock()
        if self._targets_read_at is None or now - self._targets_read_at > ENDPOINTS_FRESH_S:
            self._targets = [_Target(e, admin) for e, admin in await store.enabled_endpoints(session)]
            self._targets_read_at = now

    def messages(self, rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        """The outbox rows for a batch of event rows (as the event log inserts them)."""
        out: list[dict[str, Any]] = []
        created = utcnow()
        for row in rows:
            room = self._rooms.get(str(row["room_id"]))
            if room is None:  # prepare was not called for it: the room row does not exist
                continue
            self._rooms.move_to_end(str(row["room_id"]))
            for public in room.tracker.apply(parse_event(dict(row))):
                out += self._for_endpoints(public, room, created)
        return out

    def sent(self) -> None:
        """A batch with messages was committed."""
        if self.on_messages is not None:
            self.on_messages()

    def forget(self, room_ids: Iterable[str]) -> None:
        """A batch was not stored after all: these trackers saw events that are not in the database."""
        for room_id in room_ids:
            self._rooms.pop(room_id, None)

    # --- timers ----------------------------------------------------------------------------------

    async def due(self, session: AsyncSession, now: datetime) -> list[tuple[str, RoomEvent]]:
        """Timer events (no-show, waiting) due by ``now`` in rooms in memory, and in rooms that
        started lately whose no-show verdict is due though nothing happened in them (loaded).
        Call it holding :attr:`lock`."""
        found = await crud.rooms_with_timers(session, now=now, since=now - NO_SHOW_LOOKBACK)
        candidates = [room_id for room_id in found if room_id not in self._rooms]
        if candidates:
            await self._load(session, candidates)
        return [(room_id, event) for room_id, room in self._rooms.items() for event in room.tracker.due(now)]

    # --- internals -------------------------------------------------------------------------------

    async def _load(self, session: AsyncSession, room_ids: list[str]) -> None:
        found = await crud.get_rooms_and_participants(session, room_ids=room_ids)
        events = await crud.list_events_of_rooms(session, room_ids=list(found))
        for room_id, (room, people) in found.items():
            if room_id in self._rooms:
                continue
            self._rooms[room_id] = _Room(
                self.replayed(room, people, events.get(room_id, [])), room.api_key_id
            )
        while len(self._rooms) > MAX_TRACKED_ROOMS:
            self._rooms.popitem(last=False)

    def replayed(
        self, room: Room, people: Mapping[Role, Participant], events: Iterable[RoomEvent]
    ) -> SessionTracker:
        """A fresh tracker for ``room`` (with this deployment's grace periods) fed ``events``, oldest
        first: the room's attendance as they leave it (the report, insights, a tracker rebuilt here)."""
        tracker = SessionTracker(self._facts(room, {role: person.name for role, person in people.items()}))
        for event in events:
            tracker.apply(event)
        return tracker

    def _facts(self, room: Room, names: Mapping[Role, str]) -> RoomFacts:
        return RoomFacts(
            room_id=room.id,
            title=room.title,
            metadata=dict(room.meta),
            names=dict(names),
            starts_at=room.starts_at,
            expires_at=room.expires_at,
            no_show_grace_s=no_show_grace_s(room, self._grace_s),
            waiting_after_s=self._waiting_s,
        )

    def _for_endpoints(self, public: PublicEvent, room: _Room, created: datetime) -> list[dict[str, Any]]:
        targets = [t for t in self._targets if t.wants(public.type, room.api_key_id)]
        if not targets:
            return []
        body = delivery_body(public)
        return [
            {
                "id": store.new_id("msg"),
                "endpoint_id": t.endpoint.id,
                "room_id": room.tracker.facts.room_id,
                "event_type": public.type,
                "sequence": public.data.sequence,  # type: ignore[union-attr]
                "payload": body,
                "status": DeliveryStatus.PENDING.value,
                "attempts": 0,
                "next_attempt_at": created,
                "created_at": created,
            }
            for t in targets
        ]
