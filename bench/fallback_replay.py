"""Replay impairment profiles through the scoring and the fallback policy; print reaction times.

This measures the *decision* logic on the report sequences a browser would send (tests/
report_sequences.py), with the production timings: seconds from the impairment's onset to the
suggestion, seconds from the link healing to "video back", and false suggestions on clean links.
`bench/fallback_netlab.py` measures the same with real WebRTC through impaired network namespaces.

    .venv/bin/python bench/fallback_replay.py
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from report_sequences import CLEAN, Link, Simulator, both, only, run

from media.fallback_policy import FallbackPolicy, PolicyOutput, Suggest, Switch
from media.link_quality import LinkQuality
from signaling.messages import Role
from signaling.stats import CallMode

WARMUP = 20.0
"""Seconds of clean call before the impairment starts."""


@dataclass(frozen=True)
class Profile:
    name: str
    links: dict[Role, Link]
    expect: CallMode | None
    """The suggestion the profile should bring (None: none at all)."""
    target_s: float | None


PROFILES = [
    Profile("clean, 10 minutes", both(CLEAN), None, None),
    Profile("5% loss (moderate)", both(Link(loss=0.05)), None, None),
    Profile("400 ms RTT (moderate)", both(Link(rtt_s=0.4, jitter_s=0.01)), None, None),
    Profile("15% loss on one uplink (severe)", only(Role.HOST, Link(loss=0.15)), CallMode.AUDIO_ONLY, 8),
    Profile("20% loss both ways (severe)", both(Link(loss=0.20)), CallMode.AUDIO_ONLY, 8),
    Profile(
        "uplink starved < 150 kbit/s",
        only(Role.HOST, Link(uplink_bps=120_000, bandwidth_limited=True)),
        CallMode.AUDIO_ONLY,
        8,
    ),
    Profile("frozen video", only(Role.GUEST, Link(frozen=0.6, fps=8)), CallMode.AUDIO_ONLY, 8),
    Profile("30% loss (audio unusable)", both(Link(loss=0.30)), CallMode.PHONE, 15),
    Profile("total outage", both(Link(outage=True)), CallMode.PHONE, 15),
]


def first_suggestion(profile: Profile, seconds: float) -> tuple[float | None, list[PolicyOutput]]:
    sim = Simulator()
    quality, policy = LinkQuality(interval_s=sim.interval_s), FallbackPolicy()
    outputs: list[PolicyOutput] = []
    found: float | None = None
    for at, reports in run([(WARMUP, both(CLEAN)), (seconds, profile.links)], sim):
        for role, stats in reports.items():
            quality.add_report(role, stats, at)
        step = policy.evaluate(quality.snapshot(at), at)
        outputs += step
        for output in step:
            if found is None and isinstance(output, Suggest) and output.suggestion.mode is profile.expect:
                found = at - WARMUP
    return found, outputs


def recovery_time() -> float | None:
    """Audio-only accepted under 15% loss, then the link heals: seconds until video is offered."""
    sim = Simulator()
    quality, policy = LinkQuality(interval_s=sim.interval_s), FallbackPolicy()
    healed_at = WARMUP + 30
    phases = [(WARMUP, both(CLEAN)), (30, only(Role.HOST, Link(loss=0.15))), (120, both(CLEAN))]
    for at, reports in run(phases, sim):
        for role, stats in reports.items():
            quality.add_report(role, stats, at)
        for output in policy.evaluate(quality.snapshot(at), at):
            if isinstance(output, Suggest) and output.suggestion.mode is CallMode.AUDIO_ONLY:
                for switch in policy.decide(Role.HOST, output.suggestion.id, True, at):
                    assert isinstance(switch, Switch)
                    sim.sending_video = {Role.HOST: False, Role.GUEST: False}
            if isinstance(output, Suggest) and output.suggestion.mode is CallMode.VIDEO:
                return at - healed_at
    return None


def main() -> None:
    print(f"{'profile':40} {'expected':>11} {'suggested after':>16} {'target':>8}  all suggestions")
    for profile in PROFILES:
        seconds = 600.0 if profile.expect is None else 60.0
        found, outputs = first_suggestion(profile, seconds)
        made = [o.suggestion.mode.value for o in outputs if isinstance(o, Suggest)]
        after = "-" if found is None else f"{found:.1f} s"
        target = "-" if profile.target_s is None else f"< {profile.target_s:.0f} s"
        expected = profile.expect.value if profile.expect else "nothing"
        sequence = " → ".join(made) if made else "none"
        if profile.expect is None:
            sequence += "" if not made else "  (FALSE)"
        print(f"{profile.name:40} {expected:>11} {after:>16} {target:>8}  {sequence}")
    back = recovery_time()
    after = "-" if back is None else f"{back:.1f} s"
    print(f"{'recovery: video offered back':40} {'video':>11} {after:>16} {'< 35 s':>8}")


if __name__ == "__main__":
    main()
