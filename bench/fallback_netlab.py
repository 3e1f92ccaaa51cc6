"""Real WebRTC through impaired network namespaces: seconds from impairment to suggestion.

Each profile runs a fresh lab (tests/netlab), ``duet serve`` with the production timings, and two
``duet join`` participants (aiortc) whose media path crosses the userspace impairer. The impairment
starts after a clean warm-up; the table prints, per profile, the median seconds from the moment the
impairer applied it to the first suggestion of the expected kind, and any suggestion on a clean or
moderate link (a false one). Needs root (network namespaces).

    .venv/bin/python bench/fallback_netlab.py                 # every profile once, clean for 10 min
    .venv/bin/python bench/fallback_netlab.py --repeat 3 --clean-s 120 --only severe-loss outage
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from netlab import Impairment, Lab, Step
from netlab.duet_in_lab import call, duet_server

WARM_S = 15.0
"""Clean call before the impairment: past the 10 s video warm-up."""


@dataclass(frozen=True)
class Profile:
    key: str
    title: str
    direction: str
    impairment: Impairment
    expect: str | None
    """The suggestion this profile should bring (``None``: none)."""
    target_s: float | None
    run_s: float = 40.0


PROFILES = [
    Profile("severe-loss", "15% loss on Ana's uplink", "a->b", Impairment(loss=0.15), "audio-only", 8),
    Profile("severe-loss-both", "20% loss both ways", "both", Impairment(loss=0.20), "audio-only", 8),
    Profile("starved", "Ana's uplink at 120 kbit/s", "a->b", Impairment(rate_kbps=120), "audio-only", 8),
    Profile("moderate-loss", "5% loss both ways", "both", Impairment(loss=0.05), None, None, 60),
    Profile("moderate-rtt", "400 ms round trip", "both", Impairment(delay_ms=200), None, None, 60),
    Profile("audio-unusable", "30% loss both ways", "both", Impairment(loss=0.30), "phone", 15),
    Profile("outage", "total outage", "both", Impairment(outage=True), "phone", 15),
]


def _suggestions(report: dict[str, Any]) -> list[tuple[float, str]]:
    start = report["started_at"]
    return [(start + e["t"], e["mode"]) for e in report["fallback_events"] if e["type"] == "suggest"]


async def run_profile(profile: Profile) -> tuple[float | None, list[str]]:
    """Seconds to the expected suggestion (None if it never came) and every suggestion made."""
    async with Lab.create() as lab, duet_server(lab) as api:
        steps = [Step(WARM_S, profile.direction, profile.impairment)]
        _, reports = await call(
            lab,
            api,
            duration_s=WARM_S + profile.run_s,
            while_joined=lab.schedule(steps, start=time.monotonic()),
        )
        onset = lab.changes[-1].at
    made = sorted(s for report in reports for s in _suggestions(report))
    first = next((t - onset for t, mode in made if mode == profile.expect and t >= onset), None)
    return first, [mode for _, mode in made]


async def run_recovery() -> float | None:
    """Audio-only accepted under 15% loss; then the link heals: seconds until video is offered."""
    async with Lab.create() as lab, duet_server(lab) as api:
        steps = [Step(WARM_S, "a->b", Impairment(loss=0.15)), Step(WARM_S + 20, "a->b", Impairment())]
        _, reports = await call(
            lab,
            api,
            duration_s=WARM_S + 70,
            join_args=("--on-suggest", "accept"),
            while_joined=lab.schedule(steps, start=time.monotonic()),
        )
        healed = lab.changes[-1].at
    offers = [t for report in reports for t, mode in _suggestions(report) if mode == "video" and t >= healed]
    return min(offers) - healed if offers else None


async def run_clean(seconds: float) -> list[str]:
    async with Lab.create() as lab, duet_server(lab) as api:
        _, reports = await call(lab, api, duration_s=seconds)
    return [mode for report in reports for _, mode in _suggestions(report)]


async def main(args: argparse.Namespace) -> None:
    print(f"{'profile':38} {'expected':>10} {'median':>8} {'runs':>14} {'target':>7}  suggestions made")
    for profile in PROFILES:
        if args.only and profile.key not in args.only:
            continue
        times, made = [], []
        for _ in range(args.repeat):
            first, suggestions = await run_profile(profile)
            times.append(first)
            made.append("→".join(suggestions) or "none")
        seen = [t for t in times if t is not None]
        median = f"{statistics.median(seen):.1f} s" if seen else "-"
        runs = ",".join("-" if t is None else f"{t:.1f}" for t in times)
        target = f"<{profile.target_s:.0f} s" if profile.target_s else "-"
        false = " (FALSE)" if profile.expect is None and any(m != "none" for m in made) else ""
        expected = profile.expect or "nothing"
        made_text = "; ".join(made) + false
        print(f"{profile.title:38} {expected:>10} {median:>8} {runs:>14} {target:>7}  {made_text}")
    if not args.only or "recovery" in args.only:
        back = await run_recovery()
        after = "-" if back is None else f"{back:.1f} s"
        print(f"{'recovery: video offered back':38} {'video':>10} {after:>8} {'':>14} {'<35 s':>7}")
    if args.clean_s > 0 and (not args.only or "clean" in args.only):
        made_clean = await run_clean(args.clean_s)
        verdict = "none" if not made_clean else "→".join(made_clean) + " (FALSE)"
        title = f"clean link, {args.clean_s:.0f} s"
        print(f"{title:38} {'nothing':>10} {'':>8} {'':>14} {'-':>7}  {verdict}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeat", type=int, default=1, help="runs per profile (the median is printed)")
    parser.add_argument("--clean-s", type=float, default=600.0, help="length of the clean-link run (0: skip)")
    parser.add_argument("--only", nargs="*", default=[], help="profile keys, 'recovery', 'clean'")
    asyncio.run(main(parser.parse_args()))
