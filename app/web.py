"""Where the browser page's files are, and the headers they are served with."""

from __future__ import annotations

from pathlib import Path

import web

__all__ = ["PAGE_HEADERS", "ROOM_PAGE", "WEB_DIR"]

WEB_DIR = Path(web.__file__).parent
ROOM_PAGE = WEB_DIR / "room.html"

PAGE_HEADERS = {
    # The page loads only its own files and talks only to its own origin.
    "Content-Security-Policy": (
        "default-src 'self'; media-src 'self' blob: mediastream:; connect-src 'self' ws: wss:; "
        "img-src 'self' data:; style-src 'self'; script-src 'self'; base-uri 'none'; frame-ancestors 'none'"
    ),
    # Join links carry their token in the fragment; never leak even the room path to other sites.
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
    "Permissions-Policy": "camera=(self), microphone=(self), display-capture=()",
}
