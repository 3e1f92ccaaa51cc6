"""Attendance and the public events it makes (pure): presence, no-shows, lateness, waiting, reschedule."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from room_events import T0, stored

from app.attendance import RoomFacts, SessionTracker
from signaling.events import RoomEvent
from signaling.messages import CallMode, Role

HOST, GUEST = Role.HOST, Role.GUEST
FACTS = RoomFacts(
    room_id="r1",
    title="Mentoring",
    metadata={"booking": 42},
    names={HOST: "Ana", GUEST: "Ben"},
    starts_at=T0,
    expires_at=T0 + timedelta(hours=2),
    no_show_grace_s=600.0,
    waiting_after_s=300.0,
)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def ev(seconds: float, type_: str, role: Role | None = None, **data: Any) -> RoomEvent:
    return stored(type_, role, at=at(seconds), **data)


def replay(
    events: list[RoomEvent], tracker: SessionTracker | None = None
) -> tuple[SessionTracker, list[str]]:
    """The tracker after ``events``, and what it said: ``type`` or ``type:role``, in order."""
    tracker = tracker or SessionTracker(FACTS)
    said = []
    for event in events:
        for public in tracker.apply(event):
            role = getattr(public.data, "role", None)
            said.append(f"{public.type}:{role.value}" if role else public.type)
    return tracker, said


@pytest.mark.parametrize(
    ("events", "said"),
    [
        pytest.param(
            [ev(0, "joined", HOST), ev(30, "joined", GUEST)],
            ["participant.joined:host", "participant.joined:guest", "session.started"],
            id="both come: started once both are here",
        ),
        pytest.param(
            [ev(0, "joined", HOST), ev(5, "reconnecting", HOST), ev(8, "reconnected", HOST)],
            ["participant.joined:host"],
            id="a drop within the grace period is no leave and no second join",
        ),
        pytest.param(
            [ev(0, "joined", HOST), ev(5, "reconnecting", HOST), ev(35, "left", HOST, reason="timeout")],
            ["participant.joined:host", "participant.left:host"],
            id="a drop not come back from is a leave",
        ),
        pytest.param(
            [ev(0, "joined", HOST), ev(10, "phone.joined", GUEST), ev(20, "left", HOST, reason="bye")],
            [
                "participant.joined:host",
                "participant.joined:guest",
                "session.started",
                "phone.joined:guest",
                "participant.left:host",
            ],
            id="someone on the phone is present",
        ),
        pytest.param(
            [ev(0, "joined", GUEST), ev(10, "phone.joined", GUEST), ev(20, "left", GUEST, reason="bye")],
            ["participant.joined:guest", "phone.joined:guest"],
            id="leaving the browser while on the phone is no leave",
        ),
        pytest.param(
            [ev(0, "left", HOST, reason="bye")],
            [],
            id="never a leave without a join",
        ),
        pytest.param(
            [ev(0, "joined", HOST), ev(1, "joined", GUEST), ev(60, "mode", HOST, mode="audio-only")],
            [
                "participant.joined:host",
                "participant.joined:guest",
                "session.started",
                "call.mode_changed:host",
            ],
            id="a mode change",
        ),
        pytest.param(
            [ev(0, "joined", HOST), ev(9, "ended")],
            ["participant.joined:host", "participant.left:host", "session.ended"],
            id="the end: whoever is here leaves, then the session ends",
        ),
        pytest.param(
            [ev(0, "joined", HOST), ev(240, "joined", GUEST)],
            [
                "participant.joined:host",
                "participant.joined:guest",
                "participant.late:guest",
                "session.started",
            ],
            id="four minutes after the start is late",
        ),
        pytest.param(
            [ev(-300, "joined", HOST), ev(45, "joined", GUEST)],
            ["participant.joined:host", "participant.joined:guest", "session.started"],
            id="early, or within a minute, is on time",
        ),
    ],
)
def test_what_the_platform_is_told(events: list[RoomEvent], said: list[str]) -> None:
    assert replay(events)[1] == said


def test_sequence_numbers_follow_the_events_and_survive_a_replay() -> None:
    events = [ev(0, "joined", HOST), ev(1, "joined", GUEST), ev(60, "left", GUEST, reason="bye")]
    tracker = SessionTracker(FACTS)
    numbers = [p.data.sequence for e in events for p in tracker.apply(e)]
    assert numbers == [1, 2, 3, 4]
    again = SessionTracker(FACTS)
    assert [p.data.sequence for e in events for p in again.apply(e)] == numbers


@pytest.mark.parametrize(
    ("events", "now_s", "due"),
    [
        ([], 599, []),
        ([], 600, [("no_show", None, {"missing": "both", "grace_s": 600.0})]),
        (
            [ev(30, "joined", HOST)],
            600,
            [
                ("no_show", None, {"missing": "guest", "grace_s": 600.0}),
                ("waiting", HOST, {"waiting_s": 570.0}),
            ],
        ),
        (
            [ev(30, "phone.joined", GUEST)],
            600,
            [
                ("no_show", None, {"missing": "host", "grace_s": 600.0}),
                ("waiting", GUEST, {"waiting_s": 570.0}),
            ],
        ),
        ([ev(0, "joined", HOST), ev(500, "joined", GUEST), ev(550, "left", GUEST, reason="bye")], 600, []),
        (
            [ev(0, "joined", HOST), ev(500, "joined", GUEST), ev(550, "left", GUEST, reason="bye")],
            850,
            [("waiting", HOST, {"waiting_s": 300.0})],
        ),
        ([ev(-600, "joined", HOST)], 299, []),
        ([ev(-600, "joined", HOST)], 300, [("waiting", HOST, {"waiting_s": 300.0})]),
        ([ev(100, "joined", GUEST)], 400, [("waiting", GUEST, {"waiting_s": 300.0})]),
        ([ev(0, "joined", HOST), ev(10, "joined", GUEST), ev(20, "ended")], 3600, []),
    ],
    ids=[
        "before the grace period ends",
        "nobody came",
        "the guest never came",
        "the guest came by phone; the host did not",
        "both came, one left: no no-show",
        "left alone: waiting again, counted from the other's leaving",
        "waiting before the start counts from the start",
        "waiting five minutes after the start",
        "waiting five minutes from coming late",
        "an ended room has no timers",
    ],
)
def test_timers(
    events: list[RoomEvent], now_s: float, due: list[tuple[str, Role | None, dict[str, Any]]]
) -> None:
    tracker, _ = replay(events)
    got = tracker.due(at(now_s))
    assert [(e.type, e.role, e.data.model_dump(mode="json")) for e in got] == due  # type: ignore[union-attr]


def test_each_timer_fires_once_and_the_recorded_event_is_what_the_platform_hears() -> None:
    tracker, _ = replay([ev(-60, "joined", HOST)])
    first = tracker.due(at(700))
    assert [e.type for e in first] == ["no_show", "waiting"]
    assert tracker.due(at(800)) == []  # decided, before the recorded events even come back
    stamped = [e.model_copy(update={"at": at(700)}) for e in first]
    _, said = replay(stamped, tracker)
    assert said == ["session.no_show", "participant.waiting:host"]


def test_waiting_is_told_again_after_the_two_were_together() -> None:
    tracker, _ = replay([ev(0, "joined", HOST)])
    assert [e.type for e in tracker.due(at(300))] == ["waiting"]
    replay([ev(310, "joined", GUEST), ev(320, "left", GUEST, reason="bye")], tracker)
    assert tracker.due(at(500)) == []
    assert [e.type for e in tracker.due(at(620))] == ["waiting"]


def test_a_reschedule_moves_the_no_show_and_the_lateness() -> None:
    later = T0 + timedelta(hours=1)
    moved = ev(
        -100, "rescheduled", starts_at=later.isoformat(), expires_at=(later + timedelta(hours=1)).isoformat()
    )
    tracker, said = replay([moved])
    assert said == ["session.rescheduled"]
    assert tracker.due(at(700)) == []  # the old grace period is no longer the one
    assert [e.type for e in tracker.due(later + timedelta(seconds=600))] == ["no_show"]
    _, said = replay([ev(3600 + 120, "joined", HOST)], SessionTracker(FACTS, starts_at=later))
    assert "participant.late:host" in said


def test_attendance() -> None:
    events = [
        ev(0, "joined", HOST),
        ev(120, "joined", GUEST),  # 2 minutes late
        ev(420, "mode", HOST, mode="audio-only", previous="video"),
        ev(600, "phone.joined", GUEST),
        ev(620, "left", GUEST, reason="closed"),  # on the phone only from here
        ev(900, "phone.left", GUEST),
        ev(960, "ended"),
    ]
    tracker, said = replay(events)
    assert said[-1] == "session.ended"
    report = tracker.attendance(at(960))
    assert (report.host.present_s, report.host.late_s, report.host.phone_s) == (960.0, 0.0, 0.0)
    assert (report.guest.present_s, report.guest.late_s, report.guest.phone_s) == (780.0, 120.0, 300.0)
    assert report.together_s == 780.0
    assert report.mode_s[CallMode.VIDEO] == 300.0
    assert report.mode_s[CallMode.AUDIO_ONLY] == 480.0
    assert report.no_show is None


def test_ending_before_the_start_is_a_cancellation_with_its_reason() -> None:
    [cancelled] = SessionTracker(FACTS).apply(ev(-3600, "ended", reason="mentor ill"))
    assert cancelled.type == "session.ended"
    assert (cancelled.data.reason, cancelled.data.note) == ("cancelled", "mentor ill")  # type: ignore[union-attr]
    [ended] = SessionTracker(FACTS).apply(ev(60, "ended"))
    assert ended.data.reason == "ended"  # type: ignore[union-attr]


def test_a_rating_after_the_end_is_told() -> None:
    _, said = replay(
        [ev(0, "joined", HOST), ev(60, "ended"), ev(90, "feedback", GUEST, rating=4), ev(95, "joined", HOST)]
    )
    assert said[-2:] == ["session.ended", "feedback.submitted:guest"]


def test_a_report_read_before_the_timers_ran_has_the_verdict_already() -> None:
    tracker, _ = replay([ev(0, "joined", HOST)])
    assert tracker.settled(at(599)).attendance(at(599)).no_show is None
    assert tracker.settled(at(601)).attendance(at(601)).no_show == "guest"
