"""Quality reports over the real socket: the indicator, the prompt, the switch, video back, the report.

Two protocol clients send synthetic stats (the same sequences the policy's table tests use) on a
fast clock: the server's timings are scaled down by settings, nothing else is faked.
"""

from __future__ import annotations

import pytest
from conftest import RunningServer
from fallback_clients import FAST, Reporter, call
from report_sequences import CLEAN, Link, both, only
from wsclient import joined

from signaling.messages import Decide, ErrorCode, Role, SetMode
from signaling.stats import CallMode

pytestmark = pytest.mark.parametrize("server_settings", [FAST])


async def test_prompt_switch_and_video_back(server: RunningServer) -> None:
    async with call(server) as (room, host, guest):
        reporter = Reporter(host, guest)
        try:
            quality = await guest.wait_for("quality", lambda f: f.peer.video == "good")
            assert quality.you.audio in ("excellent", "good")
            reporter.links = only(Role.HOST, Link(loss=0.15))  # Ana's uplink degrades

            prompt = await host.wait_for("suggest")
            assert (prompt.mode, prompt.reason) == (
                "audio-only",
                "Your video is lagging. Switch to audio only?",
            )
            assert prompt.at_fault == "host"
            weak = await guest.wait_for("quality", lambda f: f.peer.video == "poor")
            assert any("video packets lost" in p for p in weak.peer.problems)
            assert guest.of("suggest") == []  # only the person at fault is asked

            await host.client.send(Decide(id=prompt.id, accept=True))
            mine = await host.wait_for("mode")
            theirs = await guest.wait_for("mode")
            assert (mine.mode, theirs.mode) == ("audio-only", "audio-only")
            assert mine.reason == "Your connection is weak, so the call switched to audio only."
            assert theirs.reason == "Ana's connection is weak, so the call switched to audio only."
            reporter.follow(CallMode.AUDIO_ONLY)

            reporter.links = both(CLEAN)
            back = await guest.wait_for("suggest", lambda f: f.mode == "video")
            assert back.reason == "Video is back to good. Turn your camera on?"
            await guest.client.send(Decide(id=back.id, accept=True))
            assert (await host.wait_for("mode", lambda f: f.mode == "video")).reason == (
                "The connection is good again: video is back."
            )
        finally:
            await reporter.stop()

        async with server.client() as api:
            report = (await api.get(f"/v1/rooms/{room['id']}/report")).json()
            events = (await api.get(f"/v1/rooms/{room['id']}/events")).json()["items"]
    kinds = [(e["type"], e["data"].get("mode")) for e in report["timeline"]]
    assert kinds == [
        ("suggested", "audio-only"),
        ("accepted", None),
        ("mode", "audio-only"),
        ("suggested", "video"),
        ("accepted", None),
        ("mode", "video"),
    ]
    assert report["time_in_mode_s"]["audio-only"] > 1.0 and report["time_in_mode_s"]["video"] > 0.5
    host_report = next(p for p in report["participants"] if p["role"] == "host")
    assert host_report["name"] == "Ana" and host_report["mos"]["samples"] >= 1
    assert any(e["type"] == "quality" for e in events)


async def test_decline_is_not_nagged_and_unknown_ids_are_refused(server: RunningServer) -> None:
    async with call(server) as (_, host, guest):
        reporter = Reporter(host, guest)
        try:
            await host.wait_for("quality")
            await host.client.send(Decide(id="s999", accept=True))
            assert (await host.wait_for("error")).code == ErrorCode.UNKNOWN_SUGGESTION
            reporter.links = only(Role.HOST, Link(loss=0.15))
            prompt = await host.wait_for("suggest")
            await host.client.send(Decide(id=prompt.id, accept=False))
            # Many more reports of the same bad link: no second prompt within the cool-down.
            count = len(host.of("quality"))
            await host.wait_for("quality", lambda f: len(host.of("quality")) > count + 30)
            assert len(host.of("suggest")) == 1 and host.of("mode") == []
        finally:
            await reporter.stop()


async def test_auto_policy_set_while_live_switches_by_itself(server: RunningServer) -> None:
    async with call(server) as (room, host, guest):
        async with server.client() as api:
            response = await api.patch(f"/v1/rooms/{room['id']}", json={"fallback_policy": "auto"})
            assert response.status_code == 200 and response.json()["fallback_policy"] == "auto"
        reporter = Reporter(host, guest)
        try:
            reporter.links = only(Role.GUEST, Link(uplink_bps=90_000, bandwidth_limited=True))
            switched = await host.wait_for("mode")
            assert switched.mode == "audio-only" and switched.by is None
            assert switched.reason == "Ben's connection is weak, so the call switched to audio only."
            assert host.of("suggest") == [] and guest.of("suggest") == []
        finally:
            await reporter.stop()


async def test_manual_switch_is_shared_and_kept_for_a_rejoin(server: RunningServer) -> None:
    async with call(server) as (room, host, guest):
        await guest.client.send(SetMode(mode=CallMode.AUDIO_ONLY))
        assert (await host.wait_for("mode")).reason == "Ben switched the call to audio only."
        assert (await guest.wait_for("mode")).reason == "You switched the call to audio only."
        again, welcome = await joined(server.ws_url(room["id"]), room["join_urls"]["host"])  # Ana reloads
        assert welcome.mode == "audio-only"
        await again.close()


async def test_off_policy_only_shows_the_indicator(server: RunningServer) -> None:
    async with call(server, fallback_policy="off") as (_, host, guest):
        reporter = Reporter(host, guest)
        try:
            reporter.links = both(Link(loss=0.4))
            await host.wait_for("quality", lambda f: f.you.audio == "bad" and f.you.video == "poor")
            count = len(host.of("quality"))
            await host.wait_for("quality", lambda f: len(host.of("quality")) > count + 20)
            assert host.of("suggest") == guest.of("suggest") == [] and host.of("mode") == []
        finally:
            await reporter.stop()
