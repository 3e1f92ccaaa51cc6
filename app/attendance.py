"""Attendance: who came, when, for how long, and what the platform is told of it (pure).

A :class:`SessionTracker` reads a room's events in order (:meth:`~SessionTracker.apply`) and answers
with the public events of the webhook catalogue, numbered by the room's ``sequence``. Presence is
what the server saw (a socket, or a phone leg), so the one who came is never reported absent: a drop
within the reconnect grace period (``reconnecting`` then ``reconnected``) is no leave, and someone on
the phone is present even with no browser. Timers that depend on nobody doing anything (the no-show
verdict, "waiting for the other") come from :meth:`~SessionTracker.due`, as events to record: they
are stored like any other and read back the same way, so replaying a room's stored events gives the
same public events and the same sequence numbers after a restart.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from app.models import Room
from app.webhooks.catalogue import (
    Attendance,
    CallModeChanged,
    CallModeChangedData,
    FeedbackData,
    FeedbackSubmittedEvent,
    ParticipantData,
    ParticipantJoined,
    ParticipantJoinedData,
    ParticipantLate,
    ParticipantLateData,
    ParticipantLeft,
    ParticipantWaiting,
    ParticipantWaitingData,
    PersonAttendance,
    PhoneData,
    PhoneJoinedEvent,
    PhoneLeftEvent,
    PublicEvent,
    SessionEnded,
    SessionEndedData,
    SessionNoShow,
    SessionNoShowData,
    SessionRescheduled,
    SessionRescheduledData,
    SessionScheduled,
    SessionScheduledData,
    SessionStarted,
)
from app.webhooks.catalogue import _Data as SessionData
from signaling.events import (
    Ended,
    Expired,
    FeedbackSubmitted,
    Joined,
    Left,
    ModeSwitched,
    NoShow,
    NoShowData,
    PhoneJoined,
    PhoneLeft,
    Reconnected,
    Rescheduled,
    RoomEvent,
    Scheduled,
    Waiting,
    WaitingData,
)
from signaling.messages import CallMode, Role

__all__ = ["LATE_AFTER_S", "RoomFacts", "SessionTracker"]

LATE_AFTER_S = 60.0
"""Coming more than a minute after the start is late (``participant.late``); earlier is on time."""
EXPIRY_SLACK_S = 60.0
"""A room nobody is in expires through its tracker this long after ``expires_at`` (a room someone is
in is expired by its live room within a second: this only catches the rooms nobody came back to)."""


NO_SHOW_SHARE = 0.25
"""Without a grace period of its own, a room with a planned end gives a quarter of its length, if
that is shorter than the deployment's: someone 10 minutes late to a 20-minute check-in missed it."""


def no_show_grace_s(room: Room, default_s: float) -> float:
    """Seconds after the start by which someone who has not come is a no-show, for ``room``."""
    if room.no_show_after_s is not None:
        return room.no_show_after_s
    if room.ends_at is not None:
        return min(default_s, NO_SHOW_SHARE * (room.ends_at - room.starts_at).total_seconds())
    return default_s


@dataclass(frozen=True, slots=True)
class RoomFacts:
    """What the tracker needs of the room itself (its times come from its events)."""

    room_id: str
    title: str
    metadata: dict[str, Any]
    names: dict[Role, str]
    starts_at: datetime
    expires_at: datetime
    no_show_grace_s: float
    """After the start: who has not come by then is a no-show."""
    waiting_after_s: float
    """Someone present this long without the other (counted from the start at the earliest) is
    ``waiting``."""


@dataclass
class _Person:
    web: bool = False
    phone: bool = False
    first_joined: datetime | None = None
    since: datetime | None = None
    """Present since (any channel)."""
    present_s: float = 0.0
    phone_since: datetime | None = None
    phone_s: float = 0.0
    waiting_told: bool = False

    @property
    def present(self) -> bool:
        return self.web or self.phone


@dataclass
class SessionTracker:
    """One room's attendance and its public events; feed it the room's events oldest first."""

    facts: RoomFacts
    sequence: int = 0
    """The room's last public event's number."""
    people: dict[Role, _Person] = field(default_factory=lambda: {role: _Person() for role in Role})
    starts_at: datetime | None = None
    expires_at: datetime | None = None
    expiry_decided: bool = False
    together_since: datetime | None = None
    together_s: float = 0.0
    apart_since: datetime | None = None
    """When the two were last together: waiting for the other counts from then at the earliest."""
    mode: CallMode = CallMode.VIDEO
    mode_s: dict[CallMode, float] = field(default_factory=lambda: dict.fromkeys(CallMode, 0.0))
    """Seconds in each mode while both were present."""
    mode_since: datetime | None = None
    started: bool = False
    over: bool = False
    end_reason: Literal["ended", "expired", "cancelled"] | None = None
    no_show: Literal["host", "guest", "both"] | None = None
    no_show_decided: bool = False

    def __post_init__(self) -> None:
        self.starts_at, self.expires_at = self.facts.starts_at, self.facts.expires_at

    # --- reading events ----------------------------------------------------------------------------

    def apply(self, event: RoomEvent) -> list[PublicEvent]:
        """The public events ``event`` makes (none for most: quality samples, suggestions, ...)."""
        at = event.at
        if at is None or (self.over and not isinstance(event, FeedbackSubmitted)):
            return []  # after the end only ratings come (the page asks once the call is over)
        was = {role: p.present for role, p in self.people.items()}
        before: list[PublicEvent] = []  # what the event itself says, before presence changes
        after: list[PublicEvent] = []
        match event:
            case Scheduled(data=d):
                self.starts_at, self.expires_at = d.starts_at, d.expires_at
                data = SessionScheduledData(**self._base(at), title=self.facts.title, **_times(d))
                before.append(SessionScheduled(data=data))
            case Rescheduled(data=d):
                moved = SessionRescheduledData(
                    **self._base(at),
                    title=self.facts.title,
                    **_times(d),
                    previous_starts_at=self.starts_at or self.facts.starts_at,
                    previous_expires_at=self.expires_at or self.facts.expires_at,
                )
                self.starts_at, self.expires_at = d.starts_at, d.expires_at
                self.no_show_decided = self.no_show is not None or all(
                    p.first_joined is not None for p in self.people.values()
                )
                before.append(SessionRescheduled(data=moved))
            case Joined(role=role) | Reconnected(role=role):
                self.people[role].web = True
            case Left(role=role):
                self.people[role].web = False
            case PhoneJoined(role=role, data=d):
                person = self.people[role]
                person.phone, person.phone_since = True, at
                phone = PhoneData(**self._person(at, role), via=d.via.value)
                after.append(PhoneJoinedEvent(data=phone))
            case PhoneLeft(role=role, data=d):
                person = self.people[role]
                if person.phone_since is not None:
                    person.phone_s += _seconds(person.phone_since, at)
                person.phone, person.phone_since = False, None
                before.append(PhoneLeftEvent(data=PhoneData(**self._person(at, role), via=d.via.value)))
            case ModeSwitched(role=role, data=d):
                self._count_mode(at)
                self.mode = d.mode
                changed = CallModeChangedData(
                    **self._base(at), mode=d.mode, previous=d.previous, cause=d.cause, by=d.by, role=role
                )
                before.append(CallModeChanged(data=changed))
            case FeedbackSubmitted(role=role, data=d):
                rated = FeedbackData(
                    **self._person(at, role), rating=d.rating, chips=d.chips, comment=d.comment
                )
                before.append(FeedbackSubmittedEvent(data=rated))
            case NoShow(data=d):
                self.no_show, self.no_show_decided = d.missing, True
                verdict = SessionNoShowData(**self._base(at), missing=d.missing, grace_s=d.grace_s)
                before.append(SessionNoShow(data=verdict))
            case Waiting(role=role, data=d):
                self.people[role].waiting_told = True
                waited = ParticipantWaitingData(
                    **self._person(at, role), waiting_s=d.waiting_s, for_role=role.other
                )
                before.append(ParticipantWaiting(data=waited))
            case Ended() | Expired():
                for person in self.people.values():
                    person.web = person.phone = False
        out = before + self._presence(at, was, via="phone" if isinstance(event, PhoneJoined) else "web")
        out += after
        if isinstance(event, Ended | Expired):
            out.append(self._ended(at, event))
        return self._numbered(out)

    def _presence(
        self, at: datetime, was: dict[Role, bool], *, via: Literal["web", "phone"]
    ) -> list[PublicEvent]:
        out: list[PublicEvent] = []
        together_before = all(was.values())
        for role, person in self.people.items():
            if person.present and not was[role]:
                person.since = at
                out.append(ParticipantJoined(data=ParticipantJoinedData(**self._person(at, role), via=via)))
                if person.first_joined is None:
                    person.first_joined = at
                    late_s = self._late_s(at)
                    if late_s > LATE_AFTER_S:
                        late = ParticipantLateData(**self._person(at, role), late_s=round(late_s, 1))
                        out.append(ParticipantLate(data=late))
            elif was[role] and not person.present:
                if person.since is not None:
                    person.present_s += _seconds(person.since, at)
                if person.phone_since is not None:  # the room ended while they were on the phone
                    person.phone_s += _seconds(person.phone_since, at)
                    person.phone_since = None
                person.since = None
                out.append(ParticipantLeft(data=ParticipantData(**self._person(at, role))))
        together = all(p.present for p in self.people.values())
        if together and not together_before:
            self.together_since = self.mode_since = at
            for person in self.people.values():
                person.waiting_told = False
            if not self.started:
                self.started = True
                out.append(SessionStarted(data=SessionData(**self._base(at))))
        elif together_before and not together:
            self._count_mode(at)
            if self.together_since is not None:
                self.together_s += _seconds(self.together_since, at)
            self.together_since, self.apart_since = None, at
        return out

    def _ended(self, at: datetime, event: Ended | Expired) -> SessionEnded:
        self.over = True
        if isinstance(event, Expired):
            reason: Literal["ended", "expired", "cancelled"] = "expired"
        else:
            reason = (
                "ended" if self.started or at >= (self.starts_at or self.facts.starts_at) else "cancelled"
            )
        self.end_reason = reason
        note = event.data.reason if isinstance(event, Ended) else None
        data = SessionEndedData(**self._base(at), reason=reason, note=note, attendance=self.attendance(at))
        return SessionEnded(data=data)

    # --- timers ----------------------------------------------------------------------------------

    def due(self, now: datetime) -> list[RoomEvent]:
        """Events the clock makes happen by ``now`` (to record: they come back through :meth:`apply`)."""
        if self.over or self.starts_at is None:
            return []
        out: list[RoomEvent] = []
        expires_at = self.expires_at or self.facts.expires_at
        if not self.expiry_decided and now >= expires_at + timedelta(seconds=EXPIRY_SLACK_S):
            self.expiry_decided = True
            if not any(p.present for p in self.people.values()):
                return [Expired()]
        grace_end = self.starts_at + timedelta(seconds=self.facts.no_show_grace_s)
        if not self.no_show_decided and now >= grace_end:
            self.no_show_decided = True  # recorded once, even before the event comes back
            never = [role for role, p in self.people.items() if p.first_joined is None]
            if never:
                missing: Literal["host", "guest", "both"] = "both" if len(never) == 2 else never[0].value
                out.append(NoShow(data=NoShowData(missing=missing, grace_s=self.facts.no_show_grace_s)))
        for role, person in self.people.items():
            other = self.people[role.other]
            if not person.present or other.present or person.waiting_told or person.since is None:
                continue
            waiting_from = max(person.since, self.starts_at, self.apart_since or person.since)
            if now - waiting_from >= timedelta(seconds=self.facts.waiting_after_s):
                person.waiting_told = True
                waited = WaitingData(waiting_s=round(_seconds(waiting_from, now), 1))
                out.append(Waiting(role=role, data=waited))
        return out

    def settled(self, now: datetime) -> SessionTracker:
        """This tracker with the no-show verdict due by ``now`` applied, recorded or not yet (a
        report or a summary read between the grace period's end and the timers' next check)."""
        for event in self.due(now):
            if isinstance(event, NoShow):
                self.apply(event.model_copy(update={"at": now}))
        return self

    # --- attendance ------------------------------------------------------------------------------

    def attendance(self, now: datetime) -> Attendance:
        """Who came, how late, for how long, and the call's modes, up to ``now``."""
        people = {}
        for role, p in self.people.items():
            present = p.present_s + (_seconds(p.since, now) if p.since else 0.0)
            phone = p.phone_s + (_seconds(p.phone_since, now) if p.phone_since else 0.0)
            late = None if p.first_joined is None else round(max(0.0, self._late_s(p.first_joined)), 1)
            people[role] = PersonAttendance(
                role=role,
                name=self.facts.names[role],
                first_joined_at=p.first_joined,
                late_s=late,
                present_s=round(present, 1),
                phone_s=round(phone, 1),
            )
        together = self.together_s + (_seconds(self.together_since, now) if self.together_since else 0.0)
        modes = dict(self.mode_s)
        if self.together_since is not None and self.mode_since is not None:
            modes[self.mode] += _seconds(self.mode_since, now)
        return Attendance(
            host=people[Role.HOST],
            guest=people[Role.GUEST],
            together_s=round(together, 1),
            mode_s={mode: round(s, 1) for mode, s in modes.items()},
            no_show=self.no_show,
        )

    # --- internals -------------------------------------------------------------------------------

    def _count_mode(self, at: datetime) -> None:
        """Add the time in the current mode while together, up to ``at``."""
        if self.together_since is not None and self.mode_since is not None:
            self.mode_s[self.mode] += _seconds(self.mode_since, at)
        self.mode_since = at

    def _late_s(self, at: datetime) -> float:
        return _seconds(self.starts_at or self.facts.starts_at, at)

    def _base(self, at: datetime) -> dict[str, Any]:
        return {
            "room_id": self.facts.room_id,
            "metadata": self.facts.metadata,
            "sequence": 0,
            "occurred_at": at,
        }

    def _person(self, at: datetime, role: Role) -> dict[str, Any]:
        return {**self._base(at), "role": role, "name": self.facts.names[role]}

    def _numbered(self, events: list[PublicEvent]) -> list[PublicEvent]:
        for event in events:
            self.sequence += 1
            event.data.sequence = self.sequence  # type: ignore[union-attr]
        return events


def _seconds(start: datetime, end: datetime) -> float:
    return max(0.0, (end - start).total_seconds())


def _times(d: Any) -> dict[str, datetime]:
    return {"starts_at": d.starts_at, "expires_at": d.expires_at}
