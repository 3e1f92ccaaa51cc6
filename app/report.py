"""A session's report, computed from its stored events (pure)."""

from __future__ import annotations

from datetime import datetime
from statistics import fmean

from pydantic import BaseModel

from app.webhooks.catalogue import Attendance
from signaling.events import (
    Accepted,
    Declined,
    Ended,
    Expired,
    FeedbackSubmitted,
    Joined,
    Left,
    ModeSwitched,
    PhoneCalling,
    PhoneFailed,
    PhoneJoined,
    PhoneLeft,
    QualitySample,
    Reconnected,
    RoomEvent,
    Suggested,
    Withdrawn,
)
from signaling.messages import CallMode, Role

__all__ = ["ParticipantReport", "ScoreSummary", "SessionReport", "session_report"]

_TIMELINE = (
    Suggested,
    Accepted,
    Declined,
    Withdrawn,
    ModeSwitched,
    PhoneCalling,
    PhoneJoined,
    PhoneLeft,
    PhoneFailed,
)
"""Every suggestion, decision and mode change, and the phone bridge's calls (issue 4)."""


class ScoreSummary(BaseModel):
    mean: float | None
    min: float | None
    samples: int


class ParticipantReport(BaseModel):
    """One person's uplink over the session, as the other received it."""

    role: Role
    name: str
    mos: ScoreSummary
    video_score: ScoreSummary


class SessionReport(BaseModel):
    room_id: str
    started_at: datetime | None
    """When the first person joined."""
    ended_at: datetime | None
    duration_s: float
    time_in_mode_s: dict[CallMode, float]
    participants: list[ParticipantReport]
    timeline: list[RoomEvent]
    """Every suggestion, decision and mode change, and every phone call on the bridge, oldest first."""
    attendance: Attendance | None = None
    """Who came, how late, for how long, together, in each mode, on the phone; the no-show verdict."""
    feedback: list[FeedbackSubmitted] = []
    """Each person's rating of the call (their latest), host first."""


def _summary(values: list[float]) -> ScoreSummary:
    if not values:
        return ScoreSummary(mean=None, min=None, samples=0)
    return ScoreSummary(mean=round(fmean(values), 2), min=round(min(values), 2), samples=len(values))


def session_report(
    *, room_id: str, names: dict[Role, str], events: list[RoomEvent], now: datetime
) -> SessionReport:
    joined = [e.at for e in events if isinstance(e, Joined | Reconnected | PhoneJoined) and e.at]
    started = min(joined) if joined else None
    ended = next((e.at for e in events if isinstance(e, Ended | Expired)), None)
    if ended is None and events and not _anyone_here(events):
        left = [e.at for e in events if isinstance(e, Left | PhoneLeft) and e.at]
        ended = max(left) if left else None
    stop = ended or now
    modes = dict.fromkeys(CallMode, 0.0)
    if started is not None:
        mode, since = CallMode.VIDEO, started
        for e in events:
            if isinstance(e, ModeSwitched) and e.at and e.at >= started:
                modes[mode] += (e.at - since).total_seconds()
                mode, since = e.data.mode, e.at
        modes[mode] += max(0.0, (stop - since).total_seconds())
    participants = []
    for role in Role:
        samples = [e.data for e in events if isinstance(e, QualitySample) and e.role is role]
        participants.append(
            ParticipantReport(
                role=role,
                name=names[role],
                mos=_summary([d.mos for d in samples if d.mos is not None]),
                video_score=_summary([d.video_score for d in samples if d.video_score is not None]),
            )
        )
    timeline = [e for e in events if isinstance(e, _TIMELINE)]
    latest = {e.role: e for e in events if isinstance(e, FeedbackSubmitted)}
    return SessionReport(
        room_id=room_id,
        started_at=started,
        ended_at=ended,
        duration_s=round((stop - started).total_seconds(), 1) if started else 0.0,
        time_in_mode_s={mode: round(seconds, 1) for mode, seconds in modes.items()},
        participants=participants,
        timeline=timeline,
        feedback=[latest[role] for role in Role if role in latest],
    )


def _anyone_here(events: list[RoomEvent]) -> bool:
    """Whether someone is still connected, by browser or by phone."""
    present: set[tuple[str, Role]] = set()
    for e in events:
        match e:
            case Joined(role=role) | Reconnected(role=role):
                present.add(("web", role))
            case Left(role=role):
                present.discard(("web", role))
            case PhoneJoined(role=role):
                present.add(("phone", role))
            case PhoneLeft(role=role):
                present.discard(("phone", role))
    return bool(present)
