"""The session report, computed from events (pure), and the room update endpoint."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from conftest import RunningServer
from room_events import stored

from app.report import session_report
from signaling.events import RoomEvent
from signaling.messages import Role

T0 = datetime(2026, 11, 25, 15, 0, tzinfo=UTC)
NAMES = {Role.HOST: "Ana", Role.GUEST: "Ben"}


def ev(seconds: float, type_: str, role: Role | None = None, **data: Any) -> RoomEvent:
    return stored(type_, role, at=T0 + timedelta(seconds=seconds), **data)


def test_time_in_each_mode_scores_and_timeline() -> None:
    events = [
        ev(0, "joined", Role.HOST),
        ev(5, "joined", Role.GUEST),
        ev(20, "quality", Role.HOST, mos=4.3, video_score=95.0),
        ev(30, "quality", Role.HOST, mos=3.1, video_score=20.0),
        ev(30, "quality", Role.GUEST, mos=4.4, video_score=None),
        ev(31, "suggested", Role.HOST, id="s1", mode="audio-only"),
        ev(33, "accepted", Role.HOST, id="s1"),
        ev(33, "mode", Role.HOST, mode="audio-only", previous="video"),
        ev(93, "mode", None, mode="video", previous="audio-only"),
        ev(100, "left", Role.GUEST, reason="bye"),
        ev(101, "left", Role.HOST, reason="bye"),
    ]
    report = session_report(room_id="r", names=NAMES, events=events, now=T0 + timedelta(hours=1))
    assert report.started_at == T0 and report.ended_at == T0 + timedelta(seconds=101)
    assert report.duration_s == 101
    assert report.time_in_mode_s == {"video": 41.0, "audio-only": 60.0, "phone": 0.0}
    host, guest = report.participants
    assert (host.name, host.mos.mean, host.mos.min, host.mos.samples) == ("Ana", 3.7, 3.1, 2)
    assert (host.video_score.mean, host.video_score.min) == (57.5, 20.0)
    assert guest.video_score.samples == 0 and guest.video_score.mean is None
    assert [e.type for e in report.timeline] == ["suggested", "accepted", "mode", "mode"]


def test_live_session_counts_up_to_now_and_empty_room_is_zero() -> None:
    events = [ev(0, "joined", Role.HOST), ev(10, "joined", Role.GUEST)]
    report = session_report(room_id="r", names=NAMES, events=events, now=T0 + timedelta(seconds=42))
    assert report.ended_at is None and report.duration_s == 42 and report.time_in_mode_s["video"] == 42
    empty = session_report(room_id="r", names=NAMES, events=[], now=T0)
    assert empty.duration_s == 0 and empty.started_at is None and empty.timeline == []


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"fallback_policy": "sometimes"}, 422, "invalid_request"),
        ({"title": ""}, 422, "invalid_request"),
        ({"state": "live"}, 422, "invalid_request"),  # not changeable
    ],
)
async def test_update_refuses_bad_changes(
    server: RunningServer, body: dict[str, Any], status: int, code: str
) -> None:
    room = await server.create_room()
    async with server.client() as api:
        response = await api.patch(f"/v1/rooms/{room['id']}", json=body)
        assert response.status_code == status and response.json()["code"] == code
        assert (await api.get(f"/v1/rooms/{room['id']}")).json() == {**room, "state": "open"}


async def test_update_title_and_policy_then_not_after_the_end(server: RunningServer) -> None:
    room = await server.create_room(fallback_policy="off")
    assert room["fallback_policy"] == "off"
    async with server.client() as api:
        changed = await api.patch(
            f"/v1/rooms/{room['id']}", json={"title": "Career chat", "fallback_policy": "auto"}
        )
        assert changed.status_code == 200
        assert (changed.json()["title"], changed.json()["fallback_policy"]) == ("Career chat", "auto")
        await api.post(f"/v1/rooms/{room['id']}/end")
        late = await api.patch(f"/v1/rooms/{room['id']}", json={"title": "x"})
        assert late.status_code == 409 and late.json()["code"] == "room_over"
        missing = await api.patch("/v1/rooms/nope", json={"title": "x"})
        assert missing.status_code == 404
        report = await api.get(f"/v1/rooms/{room['id']}/report")
        assert report.status_code == 200 and report.json()["duration_s"] == 0
