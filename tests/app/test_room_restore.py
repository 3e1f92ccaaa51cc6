"""What a restarted server reads back from a room's events: who was here, and the call's mode."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from room_events import stored

from app.room_restore import mode_at_last, present_at_last
from signaling.events import RoomEvent, parse_event
from signaling.messages import CallMode, Role


def ev(type_: str, role: Role | None = None, **data: Any) -> RoomEvent:
    return stored(type_, role, **data)


@pytest.mark.parametrize(
    ("events", "present"),
    [
        ([], set()),
        ([ev("joined", Role.HOST), ev("joined", Role.GUEST)], {Role.HOST, Role.GUEST}),
        ([ev("joined", Role.HOST), ev("joined", Role.GUEST), ev("left", Role.GUEST)], {Role.HOST}),
        ([ev("joined", Role.HOST), ev("reconnecting", Role.HOST)], {Role.HOST}),  # held when it died
        ([ev("joined", Role.HOST), ev("left", Role.HOST), ev("reconnected", Role.HOST)], {Role.HOST}),
        ([ev("joined", Role.HOST), ev("quality", Role.HOST), ev("ended")], set()),
    ],
)
def test_who_was_here_when_the_server_died(events: list[RoomEvent], present: set[Role]) -> None:
    assert present_at_last(events) == present


@pytest.mark.parametrize(
    ("silent_s", "held"), [(0.0, True), (110.0, True), (130.0, False), (86_400.0, False)]
)
def test_seats_are_held_only_after_a_recent_restart(silent_s: float, held: bool) -> None:
    start = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
    events = [
        stored("joined", Role.HOST, at=start),
        stored("quality", Role.HOST, at=start + timedelta(seconds=30)),
    ]
    now = start + timedelta(seconds=30 + silent_s)
    assert present_at_last(events, now) == ({Role.HOST} if held else set())


@pytest.mark.parametrize(
    ("events", "mode"),
    [
        ([], CallMode.VIDEO),
        ([ev("mode", Role.HOST, mode="audio-only")], CallMode.AUDIO_ONLY),
        ([ev("mode", Role.HOST, mode="audio-only"), ev("mode", None, mode="video")], CallMode.VIDEO),
        ([parse_event({"type": "mode", "role": "host", "data": {"mode": "nonsense"}})], CallMode.VIDEO),
    ],
)
def test_the_calls_mode_when_the_server_died(events: list[RoomEvent], mode: CallMode) -> None:
    assert mode_at_last(events) is mode
