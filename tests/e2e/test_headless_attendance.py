"""Attendance end to end: headless participants (real WebRTC) that come late, or never, and what the
platform's webhook receiver is told."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from conftest import RunningServer
from webhook_receiver import running_receiver

from media.participant import HeadlessParticipant

EVENTS = ["participant.joined", "participant.late", "session.no_show", "session.started", "session.ended"]


@pytest.mark.parametrize(
    "server_settings", [{"webhook_allow_hosts": ["127.0.0.1"], "attendance_check_s": 0.2}], ids=["webhooks"]
)
async def test_one_comes_two_minutes_late_the_other_never(server: RunningServer) -> None:
    started = datetime.now(UTC) - timedelta(minutes=2)
    async with running_receiver() as (receiver, _):
        async with server.client() as api:
            made = await api.post("/v1/webhooks", json={"url": receiver.url, "events": EVENTS})
        receiver.secrets.append(made.json()["secret"])
        # The grace period ends 3 s from now: the host is late, the guest will be a no-show.
        room = await server.create_room(starts_at=started.isoformat(), no_show_grace_minutes=2.05)
        async with HeadlessParticipant(room["join_urls"]["host"]) as host:
            await host.wait_joined(timeout_s=5)
            await receiver.wait_for(lambda r: "session.no_show" in r.accepted_types(), timeout=15)
            async with server.client() as api:
                await api.post(f"/v1/rooms/{room['id']}/end")
            await host.wait_signaling_closed(timeout_s=5)
        await receiver.wait_for(lambda r: "session.ended" in r.accepted_types(), timeout=10)
    told: dict[str, Any] = {d.type: d.body["data"] for d in receiver.accepted()}
    assert receiver.accepted_types() == [
        "participant.joined",
        "participant.late",
        "session.no_show",
        "session.ended",
    ]
    assert told["participant.late"]["role"] == "host" and 115 <= told["participant.late"]["late_s"] <= 135
    assert told["session.no_show"]["missing"] == "guest"
    attendance = told["session.ended"]["attendance"]
    assert attendance["no_show"] == "guest" and attendance["guest"]["first_joined_at"] is None
    assert attendance["host"]["present_s"] > 0 and attendance["together_s"] == 0
