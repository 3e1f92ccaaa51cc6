"""Where the browser page's files are, and the headers every HTML response is served with.

:class:`HtmlHeaders` puts them on each ``text/html`` response, whichever route or static file made
it (the page at ``/s/{room}``, ``/check``, ``/static/room.html``), so no way of reaching the page goes
without them: the page's strict set (:func:`page_headers`), or a lighter one on the API docs, whose
pages load their scripts from a CDN.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from pathlib import Path
from urllib.parse import urlsplit

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

import web

__all__ = ["DOCS_HEADERS", "ROOM_PAGE", "WEB_DIR", "HtmlHeaders", "page_headers"]

WEB_DIR = Path(web.__file__).parent
ROOM_PAGE = WEB_DIR / "room.html"

_NOT_FRAMED = "frame-ancestors 'none'"
"""No other site may put a duet page in a frame (clickjacking the camera prompt or the buttons)."""

DOCS_HEADERS = {
    "Content-Security-Policy": _NOT_FRAMED,
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}
"""The API docs (``/docs``, ``/redoc``): not framed, no referrer; their scripts come from a CDN."""


def _websocket_origin(public_url: str) -> str:
    """``ws://host:port`` for an ``http://`` public URL, ``wss://host`` for an ``https://`` one."""
    parts = urlsplit(public_url)
    return f"{'wss' if parts.scheme == 'https' else 'ws'}://{parts.netloc}"


def page_headers(public_url: str) -> dict[str, str]:
    """The page's headers. It loads only its own files and connects only to its own origin:
    ``connect-src 'self'`` (in CSP Level 3, and in Chromium and Firefox, that covers the same
    origin's ``ws:``/``wss:``; Safari long did not) plus the configured public origin's WebSocket
    form, which is where ``web/js/signaling.js`` opens the signaling socket."""
    return {
        "Content-Security-Policy": (
            "default-src 'self'; media-src 'self' blob: mediastream:; "
            f"connect-src 'self' {_websocket_origin(public_url)}; "
            f"img-src 'self' data:; style-src 'self'; script-src 'self'; base-uri 'none'; {_NOT_FRAMED}"
        ),
        # Join links carry their token in the fragment; never leak even the room path to other sites.
        "Referrer-Policy": "no-referrer",
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": "no-store",
        "Permissions-Policy": "camera=(self), microphone=(self), display-capture=()",
    }


class HtmlHeaders:
    """ASGI middleware: every ``text/html`` response gets ``page`` (``docs`` under ``docs_paths``),
    replacing any header of the same name the route set."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        page: Mapping[str, str],
        docs: Mapping[str, str] = DOCS_HEADERS,
        docs_paths: Collection[str] = (),
    ) -> None:
        self.app = app
        self._page = dict(page)
        self._docs = dict(docs)
        self._docs_paths = frozenset(docs_paths)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        wanted = self._docs if scope["path"] in self._docs_paths else self._page

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                if headers.get("content-type", "").startswith("text/html"):
                    for name, value in wanted.items():
                        headers[name] = value
            await send(message)

        await self.app(scope, receive, send_with_headers)
