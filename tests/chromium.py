"""Which Chromium the browser tests and benchmarks drive, and the flags they start it with."""

from __future__ import annotations

import os

__all__ = ["CHROMIUM", "CHROMIUM_ARGS"]

CHROMIUM = os.environ.get("DUET_CHROMIUM", "/usr/bin/chromium")
"""Debian's Chromium (package ``chromium``); Playwright's own browser downloads are not used."""

CHROMIUM_ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    # A test pattern and a beep instead of a real camera and microphone, granted without a prompt.
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
    # The machine's network is closed: keep Chromium from calling home.
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
)
