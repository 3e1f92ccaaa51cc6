"""The headless participant's report, built from clock readings: every time counted from start()."""

from __future__ import annotations

from collections import Counter

import pytest

from media.call_mode import ModeFollower
from media.join_url import parse_join_url
from media.participant_report import build_report
from media.received import ReceivedMedia
from media.signaling_channel import SignalingRecord
from signaling.messages import PeerInfo, Role, RoomInfo, Welcome

JOIN = parse_join_url("http://127.0.0.1:8000/s/room1#t=token")
WELCOME = Welcome(
    room=RoomInfo(id="room1", title="t"),
    you=PeerInfo(role=Role.GUEST, name="Ben", present=True),
    peer=PeerInfo(role=Role.HOST, name="Ana"),
    polite=True,
    ice_servers=[],
    ping_interval_s=10,
)


@pytest.mark.parametrize(
    ("started_at", "welcome", "welcome_at", "connected_at", "expected"),
    [
        # never started: nothing to count from
        (None, None, None, None, {"duration_s": 0.0, "time_to_welcome_s": None, "role": None}),
        # started at 100 s on the clock, welcomed 0.25 s and connected 1.5 s later, now 110 s
        (
            100.0,
            WELCOME,
            100.25,
            101.5,
            {"duration_s": 10.0, "time_to_welcome_s": 0.25, "time_to_connected_s": 1.5, "role": "guest"},
        ),
        # started, never welcomed (the server refused the token)
        (100.0, None, None, None, {"duration_s": 10.0, "time_to_welcome_s": None, "name": None}),
    ],
)
def test_times_are_counted_from_the_start(
    started_at: float | None,
    welcome: Welcome | None,
    welcome_at: float | None,
    connected_at: float | None,
    expected: dict[str, object],
) -> None:
    signaling = SignalingRecord(frames=Counter({"welcome": 1, "pong": 3}), reconnect_times=[1.5, 0.75])
    report = build_report(
        join_url=JOIN,
        welcome=welcome,
        started_at=started_at,
        end=110.0,
        welcome_at=welcome_at,
        first_connected_at=connected_at,
        peer_connections=1,
        connection_states=["new", "connecting", "connected"],
        received=ReceivedMedia(),
        signaling=signaling,
        follower=ModeFollower(),
        stats_sent=4,
        problems=[],
    )
    for field, value in expected.items():
        assert getattr(report, field) == value, field
    assert (report.room_id, report.video_frames_received, report.time_to_first_video_frame_s) == (
        "room1",
        0,
        None,
    )
    assert (report.signaling_reconnects, report.signaling_back_after_s) == (2, (1.5, 0.75))
    assert report.connection_states == ("new", "connecting", "connected")
    assert report.signaling_frames == {"welcome": 1, "pong": 3}
