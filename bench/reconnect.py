"""Reconnection: what a server crash and a path outage cost a call.

1. ``duet serve`` (a child process) is SIGKILLed mid-call between two headless participants and
   restarted on the same port after ``--down-s`` seconds: seconds of media interrupted (the longest
   gap between received video frames, counted only when it is a freeze: over max(3 x frame time,
   frame time + 150 ms), the webrtc-stats ``freezeCount`` rule), and seconds from the new server
   listening until both participants had their ``welcome`` again.
2. A lab (tests/netlab, root only) drops every packet between two ``duet join`` participants for
   10 s: seconds from the path coming back until both receive video again.

Targets (issue 5): 0 s interrupted; signaling back < 5 s; media back < 10 s after the path returns.

    .venv/bin/python bench/reconnect.py              # each once
    .venv/bin/python bench/reconnect.py --repeat 3   # medians of three runs
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from duet_process import DuetProcess
from netlab import Impairment, Lab, LabUnavailable, Step
from netlab.duet_in_lab import call, duet_server

from media.participant import HeadlessParticipant

FRAME_S = 1 / 30
FREEZE_S = max(3 * FRAME_S, FRAME_S + 0.150)
"""A gap between video frames longer than this is a freeze (webrtc-stats ``freezeCount``)."""


async def server_restart(down_s: float) -> tuple[float, float, float]:
    """(seconds of media interrupted, longest video gap s, seconds to signaling back)."""
    with tempfile.TemporaryDirectory(prefix="duet-bench-") as folder:
        server = DuetProcess(Path(folder) / "data")
        await server.create_api_key()
        await server.start()
        people: list[HeadlessParticipant] = []
        try:
            room = await server.create_room()
            people = [HeadlessParticipant(room["join_urls"][role]) for role in ("host", "guest")]
            await people[0].start()
            await people[0].wait_joined(5)
            await people[1].start()
            await asyncio.gather(*(p.wait_frames("video", 60, 30) for p in people))
            welcomes = [asyncio.create_task(p.wait_frame("welcome", 60)) for p in people]
            await server.kill()
            await asyncio.sleep(down_s)  # the outage being measured
            await server.start()
            assert server.listening_at is not None
            await asyncio.gather(*welcomes)
            back_s = time.monotonic() - server.listening_at
            frames = [p.report().video_frames_received for p in people]
            await asyncio.gather(
                *(p.wait_frames("video", n + 30, 10) for p, n in zip(people, frames, strict=True))
            )
            gap = max(p.report().longest_video_gap_s or 0.0 for p in people)
            await asyncio.gather(*(p.hang_up() for p in people))
            return (gap if gap > FREEZE_S else 0.0), gap, back_s
        finally:
            for person in people:
                await person.close()
            await server.stop()


async def path_outage(outage_s: float) -> float | None:
    """Seconds from the path coming back until both participants receive video again."""
    async with Lab.create() as lab, duet_server(lab) as api:
        schedule = [Step(6.0, "both", Impairment(outage=True)), Step(6.0 + outage_s, "both", Impairment())]
        _, reports = await call(
            lab, api, duration_s=outage_s + 20, while_joined=lab.schedule(schedule, start=time.monotonic())
        )
        up = lab.changes[-1].at
        back = []
        for report in reports:
            if report.get("longest_video_gap_ended_s") is None:
                return None
            back.append(report["started_at"] + report["longest_video_gap_ended_s"] - up)
        return max(back)


def _median(values: list[float]) -> str:
    return f"{statistics.median(values):.2f} s" if values else "-"


async def main(args: argparse.Namespace) -> None:
    interrupted, gaps, backs, media_back = [], [], [], []
    for _ in range(args.repeat):
        lost, gap, back = await server_restart(args.down_s)
        interrupted.append(lost)
        gaps.append(gap)
        backs.append(back)
    print(f"server SIGKILL + restart ({args.down_s:.1f} s down), {args.repeat} run(s), medians:")
    print(f"  media interrupted            {_median(interrupted):>9}   target 0 s")
    print(f"    (longest video frame gap   {_median(gaps):>9};  a freeze is > {FREEZE_S:.3f} s)")
    print(f"  signaling back after listen  {_median(backs):>9}   target < 5 s")
    if args.skip_lab:
        return
    for _ in range(args.repeat):
        try:
            media_back.append(await path_outage(10.0))
        except LabUnavailable as error:
            print(f"path outage: lab unavailable ({error})")
            return
    seen = [t for t in media_back if t is not None]
    print(f"10 s path outage, {args.repeat} run(s), median:")
    print(
        f"  media flowing again after    {_median(seen):>9}   target < 10 s"
        + (
            ""
            if len(seen) == len(media_back)
            else f"  ({len(media_back) - len(seen)} run(s) never recovered)"
        )
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--down-s", type=float, default=2.0, help="seconds the server stays down")
    parser.add_argument("--skip-lab", action="store_true", help="only the server restart (no root needed)")
    asyncio.run(main(parser.parse_args()))
