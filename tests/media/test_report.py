"""The participant report and its two renderings."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from media.report import FallbackEvent, ParticipantReport, QualityNote, SignalingErrorInfo, format_report

CONNECTED = ParticipantReport(
    room_id="r1",
    websocket_url="ws://127.0.0.1:8000/s/r1/ws",
    role="guest",
    name="Ben",
    duration_s=11.0,
    time_to_welcome_s=0.05,
    time_to_connected_s=0.2,
    time_to_first_video_frame_s=1.0,
    time_to_first_audio_frame_s=0.3,
    video_frames_received=300,
    audio_frames_received=500,
    video_frame_size=(640, 480),
    video_frame_sizes=((320, 240), (640, 480)),
    peer_connections=1,
    connection_states=("new", "connecting", "connected", "closed"),
    signaling_frames={"welcome": 1, "offer": 1},
    close_code=1000,
    close_reason="bye",
    closed_by_server=True,
)
REFUSED = ParticipantReport(
    room_id="r1",
    websocket_url="ws://127.0.0.1:8000/s/r1/ws",
    duration_s=0.04,
    signaling_frames={"error": 1},
    last_error=SignalingErrorInfo(code="unauthorized", message="This join link is not valid."),
    close_code=4001,
    closed_by_server=True,
)


@pytest.mark.parametrize(
    ("report", "ok", "fps"),
    [
        (CONNECTED, True, 30.0),
        (ParticipantReport(room_id="r1", websocket_url="ws://x/s/r1/ws"), False, None),
        (REFUSED, False, None),
        (replace(CONNECTED, problems=("handling 'offer' failed",)), False, 30.0),
        (replace(CONNECTED, audio_frames_received=0), False, 30.0),
    ],
)
def test_ok_and_fps(report: ParticipantReport, ok: bool, fps: float | None) -> None:
    assert (report.ok, report.video_fps) == (ok, fps)


def test_text_report() -> None:
    text = format_report(CONNECTED)
    lines = text.splitlines()
    assert lines[0] == "duet join: room r1 as guest (Ben)"
    assert "  connected after    0.200 s" in lines
    assert "  video frames       300 at 640x480, 30.0 fps" in lines
    assert "  connection states  new -> connecting -> connected -> closed" in lines
    assert "  signaling frames   offer 1, welcome 1" in lines
    assert "  socket closed      1000 (bye) by the server" in lines
    assert lines[-1] == "  result             OK"


def test_text_report_of_a_refusal() -> None:
    text = format_report(REFUSED)
    assert text.splitlines()[0] == "duet join: room r1 (not joined)"
    assert "unauthorized: This join link is not valid." in text
    assert "4001 by the server" in text
    assert text.endswith("NOT OK")


def test_json_report_has_every_field() -> None:
    data = json.loads(format_report(CONNECTED, as_json=True))
    assert data["video_frame_size"] == [640, 480]
    assert data["connection_states"] == ["new", "connecting", "connected", "closed"]
    assert (data["ok"], data["video_fps"], data["last_error"]) == (True, 30.0, None)
    assert json.loads(format_report(REFUSED, as_json=True))["last_error"] == {
        "code": "unauthorized",
        "message": "This join link is not valid.",
    }


FELL_BACK = replace(
    CONNECTED,
    started_at=1000.0,
    mode="audio-only",
    stats_sent=5,
    quality=QualityNote(
        t=10.5,
        you={"audio": "good", "video": "off", "mos": 4.1, "videoScore": None, "problems": []},
        peer={
            "audio": "good",
            "video": "poor",
            "mos": 4.0,
            "videoScore": 30,
            "problems": ["video at 2 frames/s"],
        },
    ),
    fallback_events=(
        FallbackEvent(
            4.25,
            "suggest",
            mode="audio-only",
            reason="Your video is lagging. Switch to audio only?",
            id="s1",
            at_fault="guest",
            answer="accept",
        ),
        FallbackEvent(
            4.5,
            "mode",
            mode="audio-only",
            reason="Your connection is weak, so the call switched to audio only.",
            by="guest",
        ),
        FallbackEvent(
            9.0, "suggest", mode="video", reason="Video is back to good. Turn your camera on?", id="s2"
        ),
        FallbackEvent(9.5, "withdraw", id="s2"),
    ),
)


def test_text_report_shows_the_mode_the_latest_quality_and_the_fallback_timeline() -> None:
    lines = format_report(FELL_BACK).splitlines()
    assert "  stats reports      5" in lines
    assert "  call mode          audio-only" in lines
    assert (
        "  quality            you: audio good, video off | peer: audio good, video poor (video at 2 frames/s)"
        " (at 10.500 s)"
    ) in lines
    assert [line for line in lines if line.startswith("  fallback")] == [
        "  fallback           4.250 s suggest audio-only [s1]: Your video is lagging. Switch to audio only?"
        " (accept)",
        "  fallback           4.500 s mode audio-only by guest: Your connection is weak, so the call"
        " switched to audio only.",
        "  fallback           9.000 s suggest video [s2]: Video is back to good. Turn your camera on?"
        " (not answered)",
        "  fallback           9.500 s withdraw [s2]",
    ]
    assert "  quality            -" in format_report(CONNECTED).splitlines()


def test_json_report_has_the_fallback_timeline() -> None:
    data = json.loads(format_report(FELL_BACK, as_json=True))
    assert (data["mode"], data["started_at"], data["stats_sent"]) == ("audio-only", 1000.0, 5)
    assert data["quality"]["peer"]["videoScore"] == 30 and data["quality"]["t"] == 10.5
    first = data["fallback_events"][0]
    assert first == {
        "t": 4.25,
        "type": "suggest",
        "mode": "audio-only",
        "reason": "Your video is lagging. Switch to audio only?",
        "id": "s1",
        "by": None,
        "at_fault": "guest",
        "answer": "accept",
    }
    assert [e["type"] for e in data["fallback_events"]] == ["suggest", "mode", "suggest", "withdraw"]
