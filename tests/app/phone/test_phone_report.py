"""Phone legs in the session report: in the timeline, and people on the phone keep the session going."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from room_events import stored

from app.report import session_report
from signaling.events import RoomEvent
from signaling.messages import Role

T0 = datetime(2026, 11, 25, 15, 0, tzinfo=UTC)
NAMES = {Role.HOST: "Ana", Role.GUEST: "Ben"}


def ev(seconds: float, type_: str, role: Role | None = None, **data: Any) -> RoomEvent:
    return stored(type_, role, at=T0 + timedelta(seconds=seconds), **data)


def test_phone_legs_are_in_the_timeline_and_keep_the_session_going() -> None:
    events = [
        ev(0, "joined", Role.HOST),
        ev(5, "joined", Role.GUEST),
        ev(30, "suggested", None, id="s1", mode="phone", cause="audio-bad", to="host,guest"),
        ev(32, "phone.calling", Role.HOST, via="call-me"),
        ev(40, "phone.joined", Role.HOST, via="call-me"),
        ev(41, "phone.joined", Role.GUEST, via="dial-in"),
        ev(60, "left", Role.HOST, reason="closed"),
        ev(61, "left", Role.GUEST, reason="closed"),
    ]
    ongoing = session_report(room_id="r", names=NAMES, events=events, now=T0 + timedelta(seconds=300))
    assert ongoing.ended_at is None and ongoing.duration_s == 300  # both browsers closed, both on the phone
    assert [(e.type, e.role) for e in ongoing.timeline] == [
        ("suggested", None),
        ("phone.calling", Role.HOST),
        ("phone.joined", Role.HOST),
        ("phone.joined", Role.GUEST),
    ]
    over = [
        *events,
        ev(400, "phone.left", Role.GUEST, via="dial-in"),
        ev(402, "phone.left", Role.HOST, via="call-me"),
    ]
    report = session_report(room_id="r", names=NAMES, events=over, now=T0 + timedelta(seconds=900))
    assert report.ended_at == T0 + timedelta(seconds=402) and report.duration_s == 402
    assert [e.type for e in report.timeline][-2:] == ["phone.left", "phone.left"]


def test_a_session_held_only_by_phone_starts_when_the_first_person_dials_in() -> None:
    events = [
        ev(10, "phone.joined", Role.GUEST, via="dial-in"),
        ev(70, "phone.left", Role.GUEST, via="dial-in"),
    ]
    report = session_report(room_id="r", names=NAMES, events=events, now=T0 + timedelta(hours=1))
    assert report.started_at == T0 + timedelta(seconds=10) and report.duration_s == 60
