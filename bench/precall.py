"""The pre-call connection test: seconds from starting it to the verdict on screen.

1. Chromium (Playwright, fake camera and microphone) on a room's check page clicks "Test my
   connection"; the clock runs until the verdict is shown.
2. ``duet check`` (media/precall.py, in process) against the same server.

Both run against ``duet serve`` in a child process on loopback, so the figure is the test's own
length (the server's ``DUET_PRECALL_DURATION_S``, 8 s) plus what it costs to start and judge.

Target (issue 5): the verdict within 10 s of starting the test.

    .venv/bin/python bench/precall.py               # three runs of each
    .venv/bin/python bench/precall.py --repeat 5
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from chromium import CHROMIUM, CHROMIUM_ARGS
from duet_process import DuetProcess
from playwright.async_api import async_playwright

from media.precall import run_check

TARGET_S = 10.0


async def page_runs(server: DuetProcess, join_url: str, repeat: int) -> list[tuple[float, str]]:
    """(seconds to the verdict, the verdict shown) for each run in one browser."""
    parts = urlsplit(join_url)
    results = []
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=list(CHROMIUM_ARGS)
        )
        context = await browser.new_context(permissions=["camera", "microphone"])
        page = await context.new_page()
        await page.goto(f"{server.url}{parts.path}/check#{parts.fragment}")
        await page.wait_for_function("() => !document.getElementById('join').disabled", timeout=15_000)
        for _ in range(repeat):
            started = time.monotonic()
            await page.click("#precall-run")
            await page.wait_for_function(
                "() => !document.getElementById('precall-run').disabled", polling=50, timeout=60_000
            )
            results.append((time.monotonic() - started, await page.inner_text("#precall-verdict")))
        await browser.close()
    return results


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="duet-bench-") as folder:
        server = DuetProcess(Path(folder) / "data")
        await server.create_api_key()
        await server.start()
        try:
            room = await server.create_room()
            page = await page_runs(server, room["join_urls"]["guest"], args.repeat)
            check = []
            for _ in range(args.repeat):
                report = await run_check(room["join_urls"]["host"])
                check.append((report.duration_s, report.words))
        finally:
            await server.stop()
    print(
        f"pre-call test, seconds from start to verdict (target < {TARGET_S:.0f} s), {args.repeat} runs each:"
    )
    for name, runs in (("page (Chromium)", page), ("duet check", check)):
        times = [t for t, _ in runs]
        verdicts = sorted({v for _, v in runs})
        print(
            f"  {name:16} median {statistics.median(times):5.2f} s  max {max(times):5.2f} s  "
            f"verdicts: {', '.join(verdicts)}  {'ok' if max(times) < TARGET_S else 'MISSED'}"
        )


if __name__ == "__main__":
    asyncio.run(main())
