"""A session's report, computed from its stored events (pure)."""

from __future__ import annotations

from datetime import datetime
from statistics import fmean

from pydantic import BaseModel

from app.models import Event, EventPublic
from signaling.messages import CallMode, Role

__all__ = ["ParticipantReport", "ScoreSummary", "SessionReport", "session_report"]

_TIMELINE = {"suggested", "accepted", "declined", "withdrawn", "mode"}
_PHONE = {"phone.calling", "phone.joined", "phone.left", "phone.failed"}
"""The phone bridge's events (issue 4): they are in the timeline too."""
_END = {"ended", "expired"}


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
    timeline: list[EventPublic]
    """Every suggestion, decision and mode change, and every phone call on the bridge, oldest first."""


def _summary(values: list[float]) -> ScoreSummary:
    if not values:
        return ScoreSummary(mean=None, min=None, samples=0)
    return ScoreSummary(mean=round(fmean(values), 2), min=round(min(values), 2), samples=len(values))


def session_report(
    *, room_id: str, names: dict[Role, str], events: list[Event], now: datetime
) -> SessionReport:
    joined = [e.at for e in events if e.type in ("joined", "reconnected", "phone.joined")]
    started = min(joined) if joined else None
    ended = next((e.at for e in events if e.type in _END), None)
    if ended is None and events and not _anyone_here(events):
        left = [e.at for e in events if e.type in ("left", "phone.left")]
        ended = max(left) if left else None
    stop = ended or now
    modes = dict.fromkeys(CallMode, 0.0)
    if started is not None:
        mode, since = CallMode.VIDEO, started
        for e in events:
            if e.type == "mode" and e.at >= started:
                modes[mode] += (e.at - since).total_seconds()
                mode, since = CallMode(str(e.data["mode"])), e.at
        modes[mode] += max(0.0, (stop - since).total_seconds())
    participants = []
    for role in Role:
        samples = [e.data for e in events if e.type == "quality" and e.role is role]
        participants.append(
            ParticipantReport(
                role=role,
                name=names[role],
                mos=_summary([float(d["mos"]) for d in samples if d.get("mos") is not None]),
                video_score=_summary(
                    [float(d["video_score"]) for d in samples if d.get("video_score") is not None]
                ),
            )
        )
    timeline = [
        EventPublic(id=e.id or 0, type=e.type, role=e.role, at=e.at, data=e.data)
        for e in events
        if e.type in _TIMELINE or e.type in _PHONE
    ]
    return SessionReport(
        room_id=room_id,
        started_at=started,
        ended_at=ended,
        duration_s=round((stop - started).total_seconds(), 1) if started else 0.0,
        time_in_mode_s={mode: round(seconds, 1) for mode, seconds in modes.items()},
        participants=participants,
        timeline=timeline,
    )


def _anyone_here(events: list[Event]) -> bool:
    """Whether someone is still connected, by browser or by phone."""
    present: set[tuple[str, Role]] = set()
    for e in events:
        if e.role is None:
            continue
        if e.type in ("joined", "reconnected"):
            present.add(("web", e.role))
        elif e.type == "left":
            present.discard(("web", e.role))
        elif e.type == "phone.joined":
            present.add(("phone", e.role))
        elif e.type == "phone.left":
            present.discard(("phone", e.role))
    return bool(present)
