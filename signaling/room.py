"""The rules of a two-seat room, as pure code.

A :class:`Room` holds the seats (host, guest) and the negotiation state. Every
input (a participant joins, sends a frame, its socket closes, time passes) goes
through one method that takes the clock as ``now`` and returns the actions the
edge must carry out, in order: frames to send, sockets to close, events to
record. Nothing here awaits or touches a socket, so the whole behaviour is
tested as transition lists.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Literal, Protocol, TypeAlias

from signaling.events import (
    Ended,
    EndedData,
    Expired,
    Joined,
    LeaveData,
    LeaveReason,
    Left,
    Reconnected,
    Reconnecting,
    RoomEvent,
)
from signaling.messages import (
    Answer,
    BackupPlan,
    Bye,
    CallMode,
    Candidate,
    ClientMessage,
    CloseCode,
    Decide,
    Error,
    ErrorCode,
    IceServer,
    Join,
    Offer,
    PeerBack,
    PeerInfo,
    PeerJoined,
    PeerLeft,
    PeerReconnecting,
    Ping,
    Pong,
    Role,
    RoomInfo,
    ServerMessage,
    SetMode,
    Stats,
    Welcome,
)

__all__ = [
    "Action",
    "Close",
    "ConnId",
    "IllegalTransition",
    "Record",
    "Room",
    "RoomPhase",
    "SeatState",
    "Send",
]

ConnId: TypeAlias = int
"""Opaque id the edge gives each socket."""


@dataclass(frozen=True, slots=True)
class Send:
    """Send ``message`` on socket ``conn``."""

    conn: ConnId
    message: ServerMessage


@dataclass(frozen=True, slots=True)
class Close:
    """Close socket ``conn`` with ``code`` (after any ``Send`` before it)."""

    conn: ConnId
    code: CloseCode
    reason: str


@dataclass(frozen=True, slots=True)
class Record:
    """Store a room event."""

    event: RoomEvent


Action: TypeAlias = Send | Close | Record


@dataclass(frozen=True, slots=True)
class Advice:
    """A frame for one seat (``to``), or for both (``to=None``); skipped for an empty seat."""

    to: Role | None
    message: ServerMessage


class Advisor(Protocol):
    """Watches the link and the call mode (quality scoring and the fallback policy live behind it).

    Declared here, where it is used; the app plugs in the implementation. Every method takes the
    clock and returns frames to send and events to record.
    """

    @property
    def mode(self) -> CallMode: ...

    def backup(self, role: Role) -> BackupPlan | None: ...

    def observe(self, role: Role, message: Stats | Decide | SetMode, now: float) -> list[Advice | Record]: ...

    def paired(self, now: float) -> list[Advice | Record]: ...

    def left(self, role: Role, now: float) -> list[Advice | Record]: ...

    def tick(self, now: float) -> list[Advice | Record]: ...


class RoomPhase(enum.StrEnum):
    """Where the room is: nobody or one person connected, both connected, or over."""

    WAITING = "waiting"
    LIVE = "live"
    CLOSED = "closed"


class SeatState(enum.StrEnum):
    """Whether a seat has a live socket."""

    EMPTY = "empty"
    CONNECTED = "connected"
    RECONNECTING = "reconnecting"
    """The socket dropped without ``bye``: the seat is held for the reconnect grace period."""


class IllegalTransition(RuntimeError):
    """A method was called in a state where it makes no sense (a bug in the edge)."""


@dataclass(slots=True)
class _Seat:
    role: Role
    name: str
    state: SeatState = SeatState.EMPTY
    conn: ConnId | None = None
    last_seen: float = 0.0
    has_joined: bool = False
    held_until: float = 0.0
    """RECONNECTING: when the grace period ends (the room's clock)."""
    held_reason: LeaveReason = "closed"
    """RECONNECTING: why the socket went (the ``peer-left`` reason if the grace period passes)."""
    resumable: bool = False
    """RECONNECTING: the pairing this seat left is intact (the other side has not started over)."""


class Room:
    """One room's seats and negotiation state; every method returns actions."""

    def __init__(
        self,
        *,
        room_id: str,
        title: str,
        host_name: str,
        guest_name: str,
        expires_at: float,
        ice_servers: list[IceServer],
        ping_interval_s: float,
        stats_interval_s: float = 2.0,
        advisor: Advisor | None = None,
        reconnect_grace_s: float = 0.0,
    ) -> None:
        self.info = RoomInfo(id=room_id, title=title)
        self.expires_at = expires_at
        """Wall-clock seconds (UNIX epoch) after which the room closes itself."""
        self.ice_servers = ice_servers
        self.ping_interval_s = ping_interval_s
        self.stats_interval_s = stats_interval_s
        self.advisor = advisor
        self.reconnect_grace_s = reconnect_grace_s
        """Seconds a seat whose socket dropped without ``bye`` is held for a resume (0: leave at once)."""
        self.phase = RoomPhase.WAITING
        self._seats = {
            Role.HOST: _Seat(Role.HOST, host_name),
            Role.GUEST: _Seat(Role.GUEST, guest_name),
        }
        self._offers_pending: set[Role] = set()
        self._negotiating = False

    # --- queries -----------------------------------------------------------

    @property
    def silence_limit_s(self) -> float:
        """A socket silent for this long is considered dead (three ping intervals)."""
        return 3 * self.ping_interval_s

    def conn_of(self, role: Role) -> ConnId | None:
        return self._seats[role].conn

    def role_of(self, conn: ConnId) -> Role | None:
        for seat in self._seats.values():
            if seat.conn == conn:
                return seat.role
        return None

    @property
    def anyone_connected(self) -> bool:
        """Some seat has a live socket (a seat held for a reconnect has none)."""
        return any(seat.state is SeatState.CONNECTED for seat in self._seats.values())

    @property
    def is_empty(self) -> bool:
        """No seat is connected or held for a reconnect: the edge may forget the room."""
        return all(seat.state is SeatState.EMPTY for seat in self._seats.values())

    def _peer_info(self, role: Role) -> PeerInfo:
        seat = self._seats[role]
        return PeerInfo(
            role=role,
            name=seat.name,
            present=seat.state is SeatState.CONNECTED,
            reconnecting=seat.state is SeatState.RECONNECTING,
        )

    def restore(self, present: set[Role], now: float) -> None:
        """This process has just loaded the room after a restart and ``present`` were connected to the
        one before: hold their seats for the grace period, so their rejoins resume the call."""
        self._require_open()
        if self.reconnect_grace_s <= 0:
            return
        for role in present:
            seat = self._seats[role]
            if seat.state is SeatState.EMPTY:
                seat.state, seat.has_joined, seat.resumable = SeatState.RECONNECTING, True, True
                seat.held_until, seat.held_reason = now + self.reconnect_grace_s, "closed"

    # --- inputs ------------------------------------------------------------

    def join(
        self,
        conn: ConnId,
        role: Role,
        now: float,
        *,
        resume: bool = False,
        ice_servers: list[IceServer] | None = None,
    ) -> list[Action]:
        """A socket proved it holds ``role``'s token; it takes the seat.

        ``ice_servers`` (this participant's own, e.g. with fresh TURN credentials) replace the room's.

        With ``resume`` (the client still has a live peer connection) and a seat the room still holds
        with its pairing intact, the call resumes: ``welcome.resumed`` and ``peer-back`` for the other,
        and nobody renegotiates. Otherwise the one already there gets ``peer-joined`` and offers afresh.
        """
        self._require_open()
        seat, other = self._seats[role], self._seats[role.other]
        actions: list[Action] = []
        held = seat.state is SeatState.RECONNECTING
        resumed = (
            resume
            and other.state is not SeatState.EMPTY
            and ((held and seat.resumable) or seat.state is SeatState.CONNECTED)
        )
        if not resumed and other.state is SeatState.RECONNECTING:
            other.resumable = False  # this side starts over: the other's old pairing is gone
        replaced = seat.state is SeatState.CONNECTED
        if replaced:
            assert seat.conn is not None
            actions += [
                Send(
                    seat.conn,
                    Error(code=ErrorCode.REPLACED, message="You joined from another tab or device."),
                ),
                Close(seat.conn, CloseCode.REPLACED, "replaced by a newer connection"),
            ]
        rejoined = seat.has_joined
        seat.state, seat.conn, seat.last_seen, seat.has_joined = SeatState.CONNECTED, conn, now, True
        seat.resumable = False
        actions.append(
            Send(
                conn,
                Welcome(
                    room=self.info,
                    you=self._peer_info(role),
                    peer=self._peer_info(role.other),
                    polite=role is Role.GUEST,
                    ice_servers=self.ice_servers if ice_servers is None else ice_servers,
                    ping_interval_s=self.ping_interval_s,
                    stats_interval_s=self.stats_interval_s,
                    mode=self.advisor.mode if self.advisor else CallMode.VIDEO,
                    backup=self.advisor.backup(role) if self.advisor else None,
                    resumed=resumed,
                ),
            )
        )
        actions.append(Record(Reconnected(role=role) if replaced or resumed else Joined(role=role)))
        if resumed:
            if held and other.conn is not None:
                actions.append(Send(other.conn, PeerBack(peer=self._peer_info(role))))
        elif other.state is SeatState.CONNECTED:
            assert other.conn is not None
            self._new_pairing()
            actions.append(Send(other.conn, PeerJoined(peer=self._peer_info(role), rejoined=rejoined)))
            if self.advisor is not None:
                actions += self._advise(self.advisor.paired(now))
        self._update_phase()
        return actions

    def handle(self, conn: ConnId, message: ClientMessage, now: float) -> list[Action]:
        """A joined socket sent a frame."""
        role = self.role_of(conn)
        if role is None:
            raise IllegalTransition(f"expected a connection seated in room {self.info.id}, got {conn}")
        seat, other = self._seats[role], self._seats[role.other]
        seat.last_seen = now
        match message:
            case Ping(id=ping_id):
                return [Send(conn, Pong(id=ping_id))]
            case Join():
                return [
                    Send(
                        conn, Error(code=ErrorCode.ALREADY_JOINED, message="This socket has already joined.")
                    )
                ]
            case Bye():
                return self._leave(role, "bye", close=CloseCode.NORMAL, now=now)
            case Offer() | Answer() | Candidate() if other.conn is None:
                if isinstance(message, Candidate):
                    return []  # a late candidate after the peer left is normal; drop it
                return [
                    Send(conn, Error(code=ErrorCode.PEER_ABSENT, message=f"{other.name} is not here yet."))
                ]
            case Offer():
                self._offers_pending.add(role)
                self._negotiating = True
                return self._relay(other, message)
            case Answer():
                if role.other not in self._offers_pending:
                    return [
                        Send(
                            conn,
                            Error(code=ErrorCode.OUT_OF_ORDER, message="An answer needs an offer first."),
                        )
                    ]
                self._offers_pending.discard(role.other)
                return self._relay(other, message)
            case Stats() | Decide() | SetMode():
                return self._advise(self.advisor.observe(role, message, now)) if self.advisor else []
            case Candidate():
                if not self._negotiating:
                    return [
                        Send(
                            conn,
                            Error(code=ErrorCode.OUT_OF_ORDER, message="Candidates need an offer first."),
                        )
                    ]
                return self._relay(other, message)
        raise IllegalTransition(f"expected a client message, got {message!r}")  # pragma: no cover

    def disconnect(self, conn: ConnId, now: float) -> list[Action]:
        """A socket closed without ``bye``: its seat is held for the grace period (``peer-reconnecting``).
        A socket that was replaced or already removed changes nothing."""
        role = self.role_of(conn)
        if role is None or self.phase is RoomPhase.CLOSED:
            return []
        return self._hold(role, "closed", close=None, now=now)

    def tick(self, now: float, *, wall: float) -> list[Action]:
        """Time passed: close the room once it expires, drop sockets gone silent.

        ``now`` is the room's clock (monotonic: heartbeats, grace periods and the advisor's timers
        must not move when the wall clock is stepped); ``wall`` is UNIX time, for the expiry, which
        is a calendar time."""
        if self.phase is RoomPhase.CLOSED:
            return []
        if wall >= self.expires_at:
            return self.close(ErrorCode.ROOM_EXPIRED, "This session has expired.", event="expired")
        actions: list[Action] = []
        for seat in self._seats.values():
            if seat.state is SeatState.CONNECTED and now - seat.last_seen > self.silence_limit_s:
                actions += self._hold(seat.role, "timeout", close=CloseCode.HEARTBEAT_TIMEOUT, now=now)
            elif seat.state is SeatState.RECONNECTING and now >= seat.held_until:
                actions += self._leave(seat.role, seat.held_reason, close=None, now=now)
        if self.advisor is not None and self.phase is RoomPhase.LIVE:
            actions += self._advise(self.advisor.tick(now))
        return actions

    def close(
        self,
        code: ErrorCode,
        message: str,
        *,
        event: Literal["ended", "expired"] = "ended",
        reason: str | None = None,
    ) -> list[Action]:
        """The room is over (ended by the API or expired): everyone is told and disconnected."""
        self._require_open()
        close_code = CloseCode.ROOM_EXPIRED if event == "expired" else CloseCode.ROOM_ENDED
        actions: list[Action] = []
        for seat in self._seats.values():
            if seat.conn is not None:
                actions += [
                    Send(seat.conn, Error(code=code, message=message)),
                    Close(seat.conn, close_code, message),
                ]
            seat.state, seat.conn = SeatState.EMPTY, None
        self.phase = RoomPhase.CLOSED
        actions.append(Record(Expired() if event == "expired" else Ended(data=EndedData(reason=reason))))
        return actions

    # --- internals ---------------------------------------------------------

    def _hold(self, role: Role, reason: LeaveReason, *, close: CloseCode | None, now: float) -> list[Action]:
        """The socket went without ``bye``: hold the seat for the grace period (or leave at once)."""
        if self.reconnect_grace_s <= 0:
            return self._leave(role, reason, close=close, now=now)
        seat, other = self._seats[role], self._seats[role.other]
        if seat.state is not SeatState.CONNECTED or seat.conn is None:
            raise IllegalTransition(f"expected {role.value} to be connected, got {seat.state.value}")
        actions: list[Action] = []
        if close is not None:
            actions.append(Close(seat.conn, close, reason))
        seat.state, seat.conn = SeatState.RECONNECTING, None
        seat.held_until, seat.held_reason, seat.resumable = now + self.reconnect_grace_s, reason, True
        if other.conn is not None:
            actions.append(Send(other.conn, PeerReconnecting(peer=self._peer_info(role))))
        actions.append(Record(Reconnecting(role=role, data=LeaveData(reason=reason))))
        self._update_phase()
        return actions

    def _leave(self, role: Role, reason: LeaveReason, *, close: CloseCode | None, now: float) -> list[Action]:
        seat, other = self._seats[role], self._seats[role.other]
        if seat.state is SeatState.EMPTY or (seat.conn is None and close is not None):
            raise IllegalTransition(f"expected {role.value} to be connected, got {seat.state.value}")
        actions: list[Action] = []
        if close is not None and seat.conn is not None:
            actions.append(Close(seat.conn, close, reason))
        seat.state, seat.conn = SeatState.EMPTY, None
        if other.conn is not None:
            actions.append(Send(other.conn, PeerLeft(peer=self._peer_info(role), reason=reason)))
        actions.append(Record(Left(role=role, data=LeaveData(reason=reason))))
        self._new_pairing()
        self._update_phase()
        if self.advisor is not None:
            actions += self._advise(self.advisor.left(role, now))
        return actions

    @staticmethod
    def _relay(seat: _Seat, message: ServerMessage) -> list[Action]:
        assert seat.conn is not None, "relay to an empty seat"
        return [Send(seat.conn, message)]

    def _advise(self, advice: list[Advice | Record]) -> list[Action]:
        actions: list[Action] = []
        for item in advice:
            if isinstance(item, Record):
                actions.append(item)
                continue
            for role in (item.to,) if item.to is not None else (Role.HOST, Role.GUEST):
                conn = self._seats[role].conn
                if conn is not None:
                    actions.append(Send(conn, item.message))
        return actions

    def _new_pairing(self) -> None:
        self._offers_pending.clear()
        self._negotiating = False

    def _update_phase(self) -> None:
        both = all(seat.state is SeatState.CONNECTED for seat in self._seats.values())
        self.phase = RoomPhase.LIVE if both else RoomPhase.WAITING

    def _require_open(self) -> None:
        if self.phase is RoomPhase.CLOSED:
            raise IllegalTransition(f"expected room {self.info.id} to be open, got {self.phase.value}")
