"""Real WebRTC through a really impaired network: the right suggestion, the switch, video back.

Two headless participants (``duet join``) in their own network namespaces, the duet server in a
third, the media path between them through the lab's userspace impairer (loss, rate limit,
outage; this kernel has no netem). The server's timings are scaled down by settings so the whole
file stays around two minutes; the scoring and the policy are the production code.
"""

from __future__ import annotations

import time
from typing import Any

from netlab import Impairment, Lab, Step
from netlab.duet_in_lab import call, duet_server

SCALED = {
    "DUET_STATS_INTERVAL_S": "1",
    "DUET_QUALITY_WARMUP_S": "4",
    "DUET_FALLBACK_VIDEO_POOR_S": "3",
    "DUET_FALLBACK_AUDIO_BAD_S": "4",
    "DUET_FALLBACK_CONNECTION_DOWN_S": "5",
    "DUET_FALLBACK_REPORTS_STALE_S": "8",
    "DUET_FALLBACK_RECOVERY_S": "8",
}
ACCEPT = ("--on-suggest", "accept")


def events(report: dict[str, Any], type_: str) -> list[dict[str, Any]]:
    return [e for e in report["fallback_events"] if e["type"] == type_]


def at(report: dict[str, Any], event: dict[str, Any]) -> float:
    """The event's time on the machine's monotonic clock (the one the lab's changes use)."""
    return float(report["started_at"] + event["t"])


async def test_clean_link_brings_no_suggestion(lab: Lab) -> None:
    async with duet_server(lab, SCALED) as api:
        _, (ana, ben) = await call(lab, api, duration_s=22, join_args=ACCEPT)
    for report in (ana, ben):
        assert report["fallback_events"] == [], report["fallback_events"]
        assert report["video_frames_received"] > 300 and report["mode"] == "video"
        assert report["quality"]["peer"]["video"] == "good", report["quality"]


async def test_lossy_uplink_offers_audio_only_then_video_back(lab: Lab) -> None:
    schedule = [Step(8.0, "a->b", Impairment(loss=0.12)), Step(20.0, "a->b", Impairment())]
    async with duet_server(lab, SCALED) as api:
        _, (ana, ben) = await call(
            lab,
            api,
            duration_s=42,
            join_args=ACCEPT,
            while_joined=lab.schedule(schedule, start=time.monotonic()),
        )
    onset, healed = (change.at for change in lab.changes[-2:])
    offers = [e for e in events(ana, "suggest") if e["mode"] == "audio-only"]
    # One offer while the link is lossy. (A second one after video is back, in the last seconds of
    # the call, is seen in about one run in four: a relapse on a healed link, which issue 13's
    # "climbing back safely" is about; it is not what this test checks.)
    assert [o for o in offers if at(ana, o) < healed + 4] == offers[:1], (ana["fallback_events"], lab.changes)
    offer = offers[0]
    assert offer["reason"] == "Your video is lagging. Switch to audio only?" and offer["at_fault"] == "host"
    # Ana's uplink is at fault, and only she is asked.
    assert onset < at(ana, offer) < onset + 10, (at(ana, offer) - onset, ana["fallback_events"])
    assert all(e["mode"] != "audio-only" for e in events(ben, "suggest"))
    for report in (ana, ben):
        modes = [e["mode"] for e in events(report, "mode")]
        assert modes[:2] == ["audio-only", "video"], report["fallback_events"]
    back = next(e for e in events(ben, "mode") if e["mode"] == "video")
    # A sustained good period first (DUET_FALLBACK_RECOVERY_S, less one 1 s stats window: the first
    # clean window may end just after the heal), then video.
    assert healed + 7 <= at(ben, back) < healed + 20, (at(ben, back) - healed, ben["fallback_events"])
    switched = next(e for e in events(ben, "mode") if e["mode"] == "audio-only")
    assert switched["reason"] == "Ana's connection is weak, so the call switched to audio only."
    assert ana["mode"] == ben["mode"]


async def test_starved_uplink_offers_audio_only_which_fits(lab: Lab) -> None:
    # aiortc sends ~1.5 Mbit/s of video whatever the link: a 120 kbit/s uplink drowns it, and the
    # audio with it; audio alone (~50 kbit/s) fits, so after the switch the call settles.
    schedule = [Step(8.0, "a->b", Impairment(rate_kbps=120))]
    async with duet_server(lab, SCALED) as api:
        _, (ana, ben) = await call(
            lab,
            api,
            duration_s=26,
            join_args=ACCEPT,
            while_joined=lab.schedule(schedule, start=time.monotonic()),
        )
    onset = lab.changes[-1].at
    first = ana["fallback_events"][0]
    assert (first["type"], first["mode"], first["at_fault"]) == ("suggest", "audio-only", "host"), ana
    assert onset < at(ana, first) < onset + 10
    assert [e["mode"] for e in events(ben, "mode")][:1] == ["audio-only"]
    assert ben["audio_frames_received"] > 0


async def test_outage_suggests_the_phone_to_both(lab: Lab) -> None:
    schedule = [Step(8.0, "both", Impairment(outage=True))]
    async with duet_server(lab, SCALED) as api:
        _, (ana, ben) = await call(
            lab, api, duration_s=22, while_joined=lab.schedule(schedule, start=time.monotonic())
        )
    onset = lab.changes[-1].at
    for report in (ana, ben):
        phone = [e for e in events(report, "suggest") if e["mode"] == "phone"]
        assert phone, report["fallback_events"]
        assert onset < at(report, phone[0]) < onset + 12
        assert all(e["mode"] != "audio-only" for e in events(report, "suggest"))  # straight to the phone
