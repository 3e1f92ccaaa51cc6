"""``GET /v1/insights``: how a program's sessions went, for the people who run it (pure summary).

Over the calling key's rooms that start in ``[from, to)``: sessions held, cancelled and no-shows by
role, lateness, ratings, the share of time spent in audio only and on the phone, and the feedback
chips people ticked most. Each room's attendance comes from the same tracker as the webhooks and
the report (``app.attendance``), so the three never disagree.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import datetime
from statistics import fmean

from pydantic import BaseModel

from app.attendance import SessionTracker
from app.webhooks.catalogue import Attendance
from signaling.events import FeedbackSubmitted, RoomEvent
from signaling.messages import CallMode, Role

__all__ = ["INSIGHT_TYPES", "Insights", "summarise"]

INSIGHT_TYPES = (
    "scheduled", "rescheduled", "joined", "reconnected", "left", "phone.joined", "phone.left",
    "mode", "no_show", "ended", "expired", "feedback",
)  # fmt: skip
"""The event types insights read (not the quality samples, which are most of a room's events)."""


class NoShows(BaseModel):
    host: int = 0
    guest: int = 0
    both: int = 0


class Lateness(BaseModel):
    late_joins: int
    """First joins more than a minute after the start."""
    mean_late_s: float | None
    """Over the late joins."""


class Ratings(BaseModel):
    count: int
    mean: float | None
    host_mean: float | None
    guest_mean: float | None


class ChipCount(BaseModel):
    chip: str
    count: int


class Insights(BaseModel):
    start: datetime
    end: datetime
    sessions: int
    """Rooms that start in the window."""
    held: int
    """Both people came."""
    cancelled: int
    """Ended before they started."""
    no_shows: NoShows
    lateness: Lateness
    together_s: float
    """Seconds both were present, summed."""
    audio_only_share: float | None
    """Of the time together, the share in audio only (0-1)."""
    phone_share: float | None
    """Of the time together, the share on the phone."""
    ratings: Ratings
    top_chips: list[ChipCount]


def summarise(
    rooms: Iterable[tuple[SessionTracker, list[RoomEvent]]], *, start: datetime, end: datetime, now: datetime
) -> Insights:
    """The insights over ``rooms`` (each a tracker fed the room's events, and those events)."""
    sessions = held = cancelled = 0
    no_shows = NoShows()
    late: list[float] = []
    together = 0.0
    modes: Counter[CallMode] = Counter()
    ratings: dict[Role, list[int]] = {role: [] for role in Role}
    chips: Counter[str] = Counter()
    for tracker, events in rooms:
        sessions += 1
        latest: dict[Role, FeedbackSubmitted] = {}
        for event in events:
            if isinstance(event, FeedbackSubmitted):
                latest[event.role] = event
        cancelled += tracker.end_reason == "cancelled"
        attendance: Attendance = tracker.settled(now).attendance(now)
        held += tracker.started
        if attendance.no_show is not None:
            setattr(no_shows, attendance.no_show, getattr(no_shows, attendance.no_show) + 1)
        late += [
            p.late_s for p in (attendance.host, attendance.guest) if p.late_s is not None and p.late_s > 60
        ]
        together += attendance.together_s
        modes.update(attendance.mode_s)
        for role, rated in latest.items():
            ratings[role].append(rated.data.rating)
            chips.update(rated.data.chips)
    everyone = ratings[Role.HOST] + ratings[Role.GUEST]
    total_mode_s = sum(modes.values())
    return Insights(
        start=start,
        end=end,
        sessions=sessions,
        held=held,
        cancelled=cancelled,
        no_shows=no_shows,
        lateness=Lateness(late_joins=len(late), mean_late_s=_mean(late)),
        together_s=round(together, 1),
        audio_only_share=_share(modes[CallMode.AUDIO_ONLY], total_mode_s),
        phone_share=_share(modes[CallMode.PHONE], total_mode_s),
        ratings=Ratings(
            count=len(everyone),
            mean=_mean(everyone),
            host_mean=_mean(ratings[Role.HOST]),
            guest_mean=_mean(ratings[Role.GUEST]),
        ),
        top_chips=[ChipCount(chip=chip, count=n) for chip, n in chips.most_common(5)],
    )


def _mean(values: list[float] | list[int]) -> float | None:
    return round(fmean(values), 2) if values else None


def _share(part: float, whole: float) -> float | None:
    return round(part / whole, 3) if whole > 0 else None


MAX_ROOMS = 5_000
"""Rooms one request summarises at most: a wider window is refused (ask for shorter ones)."""
