"""The rooms that have someone connected: admits sockets, runs the room rules, carries out their actions.

This is the IO edge around :class:`signaling.room.Room`: it owns the sockets, the clock and
the database look-ups; the rules themselves stay pure.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from app import crud
from app.access import Entry, Refusal, decide, read_token, socket_refusal
from app.call_advisor import CallAdvisor, room_backups
from app.config import Settings, policy_config
from app.db import Database
from app.event_log import EventLog
from app.metrics import Metrics
from app.models import Participant
from app.models import Room as RoomRecord
from app.room_restore import mode_at_last, present_at_last
from app.socket_writer import Socket, SocketWriter, WriterState
from app.tokens import JoinClaims, JoinTokens
from app.turn import ice_servers_for
from media.fallback_policy import RoomPolicy
from signaling.events import RoomEvent
from signaling.messages import (
    CallMode,
    ClientMessage,
    CloseCode,
    Error,
    ErrorCode,
    IceServersUpdate,
    PhoneLeg,
    ProtocolError,
    Role,
    ServerMessage,
    Stats,
    dump_message,
    parse_client_message,
)
from signaling.rate_limit import FrameBudget, TokenBucket, Verdict
from signaling.room import Action, Close, ConnId, Record, Room, RoomPhase, Send

__all__ = ["JoinRefused", "LiveRooms", "Socket"]

log = logging.getLogger("duet.signaling")


class JoinRefused(Exception):
    """A ``join`` that cannot be admitted: the error frame to send and the close code to use."""

    def __init__(self, code: ErrorCode, close_code: CloseCode, message: str) -> None:
        super().__init__(message)
        self.code, self.close_code, self.message = code, close_code, message


@dataclass(slots=True)
class _Conn:
    writer: SocketWriter
    budget: FrameBudget
    """How fast this socket may send (signaling/rate_limit.py)."""
    room_id: str | None = None
    role: Role | None = None
    turn_issued_at: float | None = None
    """When this socket last got TURN credentials (``welcome`` or ``ice-servers``), on the monotonic
    clock; ``None``: no TURN."""


class LiveRooms:
    """Every room with a connected socket, in this process."""

    def __init__(
        self,
        *,
        settings: Settings,
        db: Database,
        tokens: JoinTokens,
        events: EventLog,
        metrics: Metrics | None = None,
    ) -> None:
        self._settings = settings
        self._metrics = metrics or Metrics()
        self._metrics.gauge("duet_sockets_open", "Signaling sockets open now.", lambda: len(self._conns))
        self._metrics.gauge(
            "duet_rooms_live",
            "Rooms with someone connected or a seat held for a reconnect.",
            lambda: len(self._rooms),
        )
        self._db = db
        self._tokens = tokens
        self._events = events
        self._rooms: dict[str, Room] = {}
        self._conns: dict[ConnId, _Conn] = {}
        self._next_conn: ConnId = 0
        self._sweeper: asyncio.Task[None] | None = None
        self._not_live: set[str] = set()
        """Rooms kept here for a held seat whose ``live`` mark was already cleared."""
        self._restorable: set[str] = set()
        self._loading: dict[str, asyncio.Future[Room]] = {}
        """Rooms being loaded from the database now, so that concurrent joins share one load."""
        self._to_load: dict[str, JoinClaims] = {}
        """Rooms asked for and not yet being loaded (the next batch), with their first joiner's claims."""
        self._loader: asyncio.Task[None] | None = None
        self._joins: dict[tuple[str, Role], TokenBucket] = {}
        """Per join link (room and role), how often it may join (refilled buckets are forgotten)."""
        self._on_phone: dict[str, dict[Role, PhoneLeg]] = {}
        """Per room, who is in the phone conference (role → the bridge's last frame about them)."""

    # --- sockets -------------------------------------------------------------

    def connect(
        self,
        socket: Socket,
        *,
        send_now: Callable[[str], bool] | None = None,
        abort: Callable[[], None] | None = None,
    ) -> ConnId:
        """A new socket; ``send_now`` and ``abort`` are its direct path, if it has one (see
        app/ws_protocol.py and app/socket_writer.py)."""
        self._next_conn += 1
        conn = self._next_conn
        writer = SocketWriter(
            socket,
            max_queued_bytes=self._settings.send_queue_max_bytes,
            send_timeout_s=self._settings.send_timeout_s,
            send_now=send_now,
            abort=abort,
            on_stalled=lambda: self._stalled(conn),
            name=f"duet-writer-{conn}",
        )
        self._conns[conn] = _Conn(writer, FrameBudget.for_stats_every(self._settings.stats_interval_s))
        return conn

    def send(self, conn: ConnId, message: ServerMessage) -> None:
        """Queue one frame for the socket's own writer; a socket that is gone is simply skipped.
        Frames to one socket leave in the order they were decided; nothing here waits for a client."""
        entry = self._conns.get(conn)
        if entry is not None and entry.writer.send(dump_message(message)):
            self._metrics.frame_out(message.type)

    def close(self, conn: ConnId, code: CloseCode, reason: str) -> None:
        """Close the socket once the frames queued before have left."""
        entry = self._conns.get(conn)
        if entry is not None:
            entry.writer.close(code, reason)

    def refuse(self, conn: ConnId, refusal: JoinRefused) -> None:
        self._metrics.joins.labels(refusal.code.value).inc()
        self.send(conn, Error(code=refusal.code, message=refusal.message))
        self.close(conn, refusal.close_code, refusal.message)

    async def closed(self, conn: ConnId) -> None:
        """If the socket is closing, wait until its last frames and close frame have left (or it was
        dropped: this is bounded by ``socket_writer.CLOSE_TIMEOUT_S``)."""
        entry = self._conns.get(conn)
        if entry is not None and entry.writer.state is WriterState.CLOSING:
            await entry.writer.wait_closed()

    # --- room inputs -----------------------------------------------------------

    async def admit(self, conn: ConnId, room_id: str, token: str, *, resume: bool = False) -> Role:
        """Check a ``join`` and seat the socket, or raise :class:`JoinRefused`.

        ``resume``: the client still has a live peer connection and asks to keep the pairing."""
        claims = read_token(self._tokens, token, room_id=room_id)
        if isinstance(claims, Refusal):  # refused before any database look-up
            raise JoinRefused(*socket_refusal(claims))
        joins = self._joins.setdefault((room_id, claims.role), TokenBucket(JOINS_PER_S, JOINS_BURST))
        if not joins.take(time.monotonic()):
            self._metrics.rate_limited.labels("join").inc()
            raise JoinRefused(
                ErrorCode.RATE_LIMITED,
                CloseCode.RATE_LIMITED,
                "This link joined too often in the last minute; try again in a minute.",
            )
        room = self._rooms.get(room_id)
        if room is None:
            room = await self._loaded(room_id, claims)
        was_empty = not room.anyone_connected
        entry = self._conns.get(conn)
        if entry is None or entry.writer.state is not WriterState.OPEN:
            raise JoinRefused(  # its writer gave up on it while the room loaded
                ErrorCode.SLOW_CONSUMER, CloseCode.SLOW_CONSUMER, "The socket did not read in time."
            )
        entry.room_id, entry.role = room_id, claims.role
        now = time.monotonic()
        ice_servers = ice_servers_for(self._settings, room_id=room_id, role=claims.role, now=time.time())
        if self._settings.turn_urls:  # Settings refuse TURN URLs without the secret
            entry.turn_issued_at = now
        self._run(room, room.join(conn, claims.role, now, resume=resume, ice_servers=ice_servers))
        self._not_live.discard(room_id)
        if was_empty and room_id not in self._on_phone:
            self._events.mark_live(room_id, True)
        self._send_on_phone(conn, room_id)
        self._metrics.joins.labels("admitted").inc()
        return claims.role

    def parse(self, conn: ConnId, text: str) -> ClientMessage | None:
        """One frame from a socket, within its rate limits, parsed and counted; ``None`` (and an
        ``error`` frame sent back, or the socket closed for flooding) if it cannot be accepted."""
        entry = self._conns.get(conn)
        if entry is None:
            return None
        now = time.monotonic()
        if not self._within(conn, entry.budget.arrived(now), "frame"):
            return None
        try:
            message = parse_client_message(text, self._settings.max_frame_bytes)
        except ProtocolError as exc:
            self._metrics.frame_in("invalid")
            self.send(conn, Error(code=exc.code, message=exc.message))
            return None
        self._metrics.frame_in(message.type)
        if not self._within(conn, entry.budget.parsed(message.type, now), message.type):
            return None
        return message

    def _within(self, conn: ConnId, verdict: Verdict, kind: str) -> bool:
        """Carry out a rate-limit verdict; ``True``: the frame goes on."""
        if verdict is Verdict.ACCEPT:
            return True
        self._metrics.rate_limited.labels(kind).inc()
        if verdict is Verdict.NOTICE:
            self.send(conn, Error(code=ErrorCode.RATE_LIMITED, message="Too many frames; slow down."))
        elif verdict is Verdict.CLOSE:
            self.refuse(conn, JoinRefused(ErrorCode.RATE_LIMITED, CloseCode.RATE_LIMITED, "Too many frames."))
        return False

    def receive(self, conn: ConnId, text: str) -> None:
        """A joined socket sent a frame (called straight from the socket's protocol: never raises)."""
        try:
            message = self.parse(conn, text)
            if message is not None:
                self.handle(conn, message)
        except Exception:
            log.exception("could not handle a frame")

    def handle(self, conn: ConnId, message: ClientMessage) -> None:
        room = self._room_of(conn)
        if room is None or room.role_of(conn) is None:
            # Not joined, or no longer seated (it said bye, or another socket took its seat): its
            # close is on the way, and what it sent meanwhile is dropped (the socket fuzzer found it).
            return
        started = time.perf_counter()
        self._run(room, room.handle(conn, message, time.monotonic()))
        if isinstance(message, Stats):
            self._metrics.stats_seconds.observe(time.perf_counter() - started)

    def disconnect(self, conn: ConnId) -> None:
        """The socket is gone (its receive loop ended, or its writer gave up on it): forget it and
        tell the room. Called again for the same socket, it does nothing."""
        room = self._room_of(conn)
        entry = self._conns.pop(conn, None)
        if entry is not None:
            entry.writer.cancel()
        if room is not None:
            self._run(room, room.disconnect(conn, time.monotonic()))

    def _stalled(self, conn: ConnId) -> None:
        self._metrics.slow_consumers.inc()
        self.disconnect(conn)

    def end(self, room_id: str, *, reason: str | None = None) -> bool:
        """The room was ended through the API: tell and disconnect whoever is there. Whether the room
        was here (it then recorded ``ended``)."""
        room = self._rooms.get(room_id)
        if room is None or room.phase is RoomPhase.CLOSED:
            return False
        self._run(room, room.close(ErrorCode.ROOM_ENDED, "The session has ended.", reason=reason))
        return True

    def reschedule(self, room_id: str, *, starts_at: datetime, expires_at: datetime) -> None:
        """The room's times changed through the API: a room in memory expires at the new time."""
        room = self._rooms.get(room_id)
        if room is not None:
            room.expires_at = expires_at.timestamp()

    def phone_changed(self, room_id: str, frame: PhoneLeg) -> None:
        """Someone's phone leg changed (the phone bridge says so): tell whoever is connected.

        A room where someone is on the phone stays live with no socket at all, so both people can
        put their browsers away and talk by phone.
        """
        before = room_id in self._on_phone
        frames = self._on_phone.setdefault(room_id, {})
        frames[frame.role] = frame
        for role in [r for r in frames if r not in frame.on_phone]:
            del frames[role]
        if not frames:
            del self._on_phone[room_id]
        now_on_phone = room_id in self._on_phone
        room = self._rooms.get(room_id)
        if room is None or not room.anyone_connected:
            if now_on_phone != before:
                self._events.mark_live(room_id, now_on_phone)
            if room is None:
                return
        for role in Role:
            if (conn := room.conn_of(role)) is not None:
                self.send(conn, frame)

    def set_policy(self, room_id: str, policy: RoomPolicy) -> None:
        """The room's fallback policy changed through the API: a live room follows at once."""
        room = self._rooms.get(room_id)
        if room is not None and isinstance(room.advisor, CallAdvisor):
            room.advisor.set_policy(policy)

    # --- time ------------------------------------------------------------------

    def start(self, *, restorable: set[str] | None = None) -> None:
        """Start sweeping. ``restorable``: rooms someone was connected to when the process before
        stopped; only their first load reads the room's events back (who was here, the call's mode)."""
        self._restorable = set(restorable or ())
        self._sweeper = asyncio.create_task(self._sweep_forever(), name="duet-room-sweeper")

    async def stop(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
            await asyncio.gather(self._sweeper, return_exceptions=True)
        conns = list(self._conns)
        for conn in conns:  # clients reconnect and resume when the server is back
            self.close(conn, CloseCode.SERVICE_RESTART, "server shutting down")
        await asyncio.gather(*(self.closed(conn) for conn in conns))

    async def sweep(self) -> None:
        """Tick every room: heartbeats, grace periods and the call advisor run on the monotonic clock;
        a room's expiry, a calendar time, on the wall clock."""
        now, wall = time.monotonic(), time.time()
        for count, room in enumerate(list(self._rooms.values()), 1):
            self._run(room, room.tick(now, wall=wall))
            if count % _SWEEP_BATCH == 0:
                await asyncio.sleep(0)  # let sockets in between: thousands of rooms are tens of ms
        if self._settings.turn_urls:  # Settings refuse TURN URLs without the secret
            self._refresh_turn(now, wall)
        for link in [link for link, bucket in self._joins.items() if bucket.refilled(now)]:
            del self._joins[link]

    def _refresh_turn(self, now: float, wall: float) -> None:
        """Fresh TURN credentials for each socket whose last ones are ``turn_refresh_s`` old: a call
        outlives its credentials, but its next ICE restart needs valid ones to allocate a relay."""
        settings = self._settings
        every_s = settings.turn_refresh_s or settings.turn_ttl_s / 2
        for conn, entry in list(self._conns.items()):
            if entry.turn_issued_at is None or entry.room_id is None or entry.role is None:
                continue
            if now - entry.turn_issued_at < every_s:
                continue
            entry.turn_issued_at = now
            servers = ice_servers_for(settings, room_id=entry.room_id, role=entry.role, now=wall)
            self.send(conn, IceServersUpdate(ice_servers=servers))

    async def _sweep_forever(self) -> None:
        while True:
            await asyncio.sleep(self._settings.sweep_interval_s)
            try:
                await self.sweep()
            except Exception:
                log.exception("room sweep failed")

    # --- internals ---------------------------------------------------------------

    def _send_on_phone(self, conn: ConnId, room_id: str) -> None:
        """A socket that joins while someone is on the phone learns it at once."""
        frames = self._on_phone.get(room_id, {})
        on_phone = [role for role in Role if role in frames]
        for role in on_phone:
            self.send(conn, frames[role].model_copy(update={"state": "joined", "on_phone": on_phone}))

    def _room_of(self, conn: ConnId) -> Room | None:
        entry = self._conns.get(conn)
        if entry is None or entry.room_id is None:
            return None
        return self._rooms.get(entry.room_id)

    async def _loaded(self, room_id: str, claims: JoinClaims) -> Room:
        """The room, loaded from the database once however many sockets ask for it at the same time
        (both people of a room often join within a second of each other), and in one query with
        every other room asked for meanwhile: under a join storm, the rooms that wait for one load
        are loaded by the next, together, instead of each waiting for a connection of its own."""
        loading = self._loading.get(room_id)
        if loading is None:
            loading = asyncio.get_running_loop().create_future()
            self._loading[room_id] = loading
            self._to_load[room_id] = claims
            if self._loader is None:
                self._loader = asyncio.create_task(self._load_batches(), name="duet-room-loader")
        # Shielded: a socket that goes away while waiting does not cancel the others' load.
        loaded = await asyncio.shield(loading)
        # The sweep may have let go of the room while it sat empty between its load and this join
        # (a busy loop resumes joiners late): seat them in the one that is live, or make this one so.
        return self._rooms.setdefault(room_id, loaded)

    async def _load_batches(self) -> None:
        try:
            while self._to_load:
                batch = dict(itertools.islice(self._to_load.items(), _LOAD_BATCH))
                for room_id in batch:
                    del self._to_load[room_id]
                try:
                    outcomes = await self._load(batch)
                except Exception:
                    log.exception("could not load %d rooms", len(batch))
                    unavailable = JoinRefused(
                        ErrorCode.UNAVAILABLE, CloseCode.TRY_AGAIN_LATER, "The service is busy; try again."
                    )
                    outcomes = dict.fromkeys(batch, unavailable)
                for room_id, outcome in outcomes.items():
                    future = self._loading.pop(room_id)
                    if isinstance(outcome, Room):
                        future.set_result(outcome)
                    else:
                        future.set_exception(outcome)
                        future.exception()  # retrieved: a refusal nobody waits for any more is no error
        finally:
            self._loader = None

    async def _load(self, batch: dict[str, JoinClaims]) -> dict[str, Room | JoinRefused]:
        """``batch``: each room's first joiner's claims (whether a room lets sockets in does not
        depend on who)."""
        outcomes: dict[str, Room | JoinRefused] = {}
        async with self._db.session() as session:
            found = await crud.get_rooms_and_participants(session, room_ids=list(batch))
            now = datetime.now(UTC)
            for room_id, claims in batch.items():
                record, people = found.get(room_id, (None, {}))
                decision = decide(Entry.SOCKET, claims, record, now, join_early_s=self._settings.join_early_s)
                if isinstance(decision, Refusal):
                    outcomes[room_id] = JoinRefused(*socket_refusal(decision))
                    continue
                assert record is not None
                # Only a room that was live when the process before stopped has seats and a mode to
                # restore (a restart: rare, so one more query for that room alone).
                restoring = room_id in self._restorable
                events = await crud.list_events(session, room_id=room_id) if restoring else []
                outcomes[room_id] = self._built(record, people, events)
        for room_id, loaded in outcomes.items():
            if isinstance(loaded, Room):
                self._restorable.discard(room_id)
                self._rooms[room_id] = loaded
        return outcomes

    def _built(self, record: RoomRecord, people: dict[Role, Participant], events: list[RoomEvent]) -> Room:
        settings = self._settings
        # A process that restarted lost who was connected and the call's mode: the events say. The
        # seats of those who were here are held, so their rejoins resume the call in the same mode.
        present = present_at_last(events, datetime.now(UTC))
        backups = room_backups(
            phones={role: (p.phone, p.share_phone) for role, p in people.items()},
            dial_in=settings.phone_dial_in,
            pin=record.dial_in_pin,
        )
        advisor = CallAdvisor(
            names={role: people[role].name for role in Role},
            policy=RoomPolicy(record.fallback_policy),
            backups=backups,
            interval_s=settings.stats_interval_s,
            warmup_s=settings.quality_warmup_s,
            config=policy_config(settings),
            mode=mode_at_last(events) if present else CallMode.VIDEO,
        )
        room = Room(
            room_id=record.id,
            title=record.title,
            host_name=people[Role.HOST].name,
            guest_name=people[Role.GUEST].name,
            expires_at=record.expires_at.timestamp(),
            ice_servers=settings.ice_servers,
            ping_interval_s=settings.ping_interval_s,
            stats_interval_s=settings.stats_interval_s,
            advisor=advisor,
            reconnect_grace_s=settings.reconnect_grace_s,
        )
        room.restore(present, time.monotonic())
        return room

    def _run(self, room: Room, actions: list[Action]) -> None:
        room_id = room.info.id
        for action in actions:
            match action:
                case Send(conn, message):
                    self.send(conn, message)
                case Close(conn, code, reason):
                    self.close(conn, code, reason)
                case Record(event):
                    self._events.record(room_id, event)
        if room.anyone_connected or self._rooms.get(room_id) is not room:
            return
        if room.is_empty:  # a seat held for a reconnect keeps the room (and its advisor) here
            del self._rooms[room_id]
        if room_id not in self._not_live and room.phase is not RoomPhase.CLOSED:
            if room_id not in self._on_phone:
                self._events.mark_live(room_id, False)
        if room.is_empty:
            self._not_live.discard(room_id)
        else:
            self._not_live.add(room_id)  # marked once, not again on every sweep while the seat is held


JOINS_PER_S, JOINS_BURST = 1 / 3, 10.0
"""How often one join link may join: 10 at once, then one every 3 s (20 a minute). A page that
reconnects backs off from 0.25 s to 4 s, so even a flapping network stays well within it."""

_LOAD_BATCH = 500
"""Rooms loaded in one query at most."""

_SWEEP_BATCH = 200
"""Rooms the sweep ticks between two yields to the event loop (a tick is ~12 µs: ~2.5 ms a batch)."""
