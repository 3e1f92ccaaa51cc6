"""Browser fixtures for the end-to-end tests: real headless Chromium, fake camera and microphone.

Each participant gets its own persistent browser context (its own Chromium
process and ``--user-data-dir`` under the test's ``tmp_path``), so two people in
one test share nothing, as two people on two machines would not.

The server under test comes from the ``server`` fixture in ``tests/conftest.py``.
"""

from __future__ import annotations

import shlex
import shutil
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from chromium import CHROMIUM, CHROMIUM_ARGS
from playwright.async_api import BrowserContext, ConsoleMessage, Error, Page, ViewportSize, async_playwright

DESKTOP: ViewportSize = {"width": 1280, "height": 800}
PHONE: ViewportSize = {"width": 390, "height": 844}


@dataclass
class Participant:
    """One person's browser: its page and what the page logged."""

    context: BrowserContext
    page: Page
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)

    def assert_clean(self) -> None:
        """No uncaught exception and no Content-Security-Policy violation on the page."""
        assert self.page_errors == [], self.page_errors
        csp = [text for text in self.console_errors if "Content Security Policy" in text]
        assert csp == [], csp


LaunchParticipant = Callable[..., Awaitable[Participant]]


def _in_namespace(script: Path, netns: str) -> str:
    """An executable that starts Chromium inside network namespace ``netns`` with the flags it is given."""
    script.write_text(f'#!/bin/sh\nexec ip netns exec {shlex.quote(netns)} {shlex.quote(CHROMIUM)} "$@"\n')
    script.chmod(0o755)
    return str(script)


@pytest.fixture
async def participant(tmp_path: Path) -> AsyncIterator[LaunchParticipant]:
    """Factory: ``await participant("host")`` launches a browser for one person.

    ``phone=True`` gives it a phone-sized window (390 x 844 CSS pixels) instead of a desktop one.
    ``camera_file`` replaces the fake camera's test pattern with a Y4M video file, played at the
    frame rate its header says (a real slow camera: the fake device itself never goes below 5 fps).
    ``netns`` runs the browser inside that network namespace (``ip netns exec``, e.g. a lab's ``a``;
    Playwright talks to it over a pipe, so it needs no network to the test); ``args`` are extra flags.
    """
    if shutil.which(CHROMIUM) is None:
        pytest.fail(f"no Chromium at {CHROMIUM}: install Debian's 'chromium' package or set DUET_CHROMIUM")
    async with async_playwright() as playwright:
        contexts: list[BrowserContext] = []

        async def launch(
            name: str,
            *,
            phone: bool = False,
            camera_file: Path | None = None,
            netns: str | None = None,
            args: Sequence[str] = (),
        ) -> Participant:
            flags = [*CHROMIUM_ARGS, *args]
            if camera_file is not None:
                flags.append(f"--use-file-for-fake-video-capture={camera_file}")
            executable = CHROMIUM if netns is None else _in_namespace(tmp_path / f"chromium-{name}.sh", netns)
            context = await playwright.chromium.launch_persistent_context(
                user_data_dir=str(tmp_path / f"chromium-{name}"),
                executable_path=executable,
                headless=True,
                args=flags,
                viewport=PHONE if phone else DESKTOP,
                permissions=["camera", "microphone"],
            )
            contexts.append(context)
            page = context.pages[0] if context.pages else await context.new_page()
            who = Participant(context=context, page=page)

            def on_console(message: ConsoleMessage) -> None:
                if message.type == "error":
                    who.console_errors.append(message.text)

            def on_page_error(error: Error) -> None:
                who.page_errors.append(str(error))

            page.on("console", on_console)
            page.on("pageerror", on_page_error)
            return who

        try:
            yield launch
        finally:
            for context in contexts:
                await context.close()
