"""Every packet between the two participants is dropped for 10 s: the call recovers by itself, and
the room never reports either person as gone.

``duet join`` as host in namespace a and as guest in b, the server in srv (its path is never
impaired, so signaling stays up); the lab's impairer drops everything a↔b from 6 s to 16 s.
"""

from __future__ import annotations

import time

import pytest
from netlab import Impairment, Lab, Step
from netlab.duet_in_lab import call, duet_server

OUTAGE_FROM_S, OUTAGE_S, DURATION_S = 6.0, 10.0, 28.0


async def test_a_ten_second_path_outage_recovers_by_itself(lab: Lab) -> None:
    schedule = [
        Step(OUTAGE_FROM_S, "both", Impairment(outage=True)),
        Step(OUTAGE_FROM_S + OUTAGE_S, "both", Impairment()),
    ]
    async with duet_server(lab) as api:
        room, reports = await call(
            lab, api, duration_s=DURATION_S, while_joined=lab.schedule(schedule, start=time.monotonic())
        )
        await api.post(f"/v1/rooms/{room['id']}/end")
        events = (await api.get(f"/v1/rooms/{room['id']}/events")).json()["items"]
    down, up = lab.changes[0].at, lab.changes[-1].at  # each step changes both directions
    assert up - down == pytest.approx(OUTAGE_S, abs=0.5)
    for report in reports:
        assert report["time_to_connected_s"] is not None, report
        # The longest video gap is the outage, and frames flowed again within 10 s of the path's return.
        gap_end = report["started_at"] + report["longest_video_gap_ended_s"]
        assert report["longest_video_gap_s"] >= OUTAGE_S - 1
        assert up <= gap_end < up + 10, (up, gap_end, report)
        assert report["started_at"] + report["last_video_frame_s"] > gap_end + 3  # and kept flowing
        assert "peer-left" not in report["signaling_frames"] or report["signaling_frames"]["peer-left"] == 1
        assert "peer-reconnecting" not in report["signaling_frames"]  # signaling was never cut
    # Nobody was reported gone: the only "left" events are the two hang-ups at the end.
    left = [e for e in events if e["type"] in ("left", "reconnecting")]
    assert [e["data"]["reason"] for e in left] == ["bye", "bye"], events
