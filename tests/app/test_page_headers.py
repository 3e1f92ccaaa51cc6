"""Every HTML response carries its security headers (issue 10, "Page headers").

The probes: ``/static/room.html`` (the page itself, through the static files) came without the
page's Content-Security-Policy and ``frame-ancestors``, and the policy's ``connect-src`` allowed
WebSockets to any host (``ws: wss:``).
"""

from __future__ import annotations

import pytest
from conftest import RunningServer
from fastapi.routing import APIRoute

from app.api.routes import check, health, phone, rooms, session
from app.web import DOCS_HEADERS, WEB_DIR, page_headers

sqlite_only = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # headers, not data


def _directives(policy: str) -> dict[str, list[str]]:
    parts = (directive.split() for directive in policy.split(";") if directive.strip())
    return {name: sources for name, *sources in parts}


@sqlite_only
async def test_every_html_response_carries_the_pages_headers(server: RunningServer) -> None:
    room = await server.create_room()
    routers = (check.router, health.router, phone.router, rooms.router, session.router)  # as app/main.py
    routes = [
        r for router in routers for r in router.routes if isinstance(r, APIRoute) and "GET" in r.methods
    ]
    paths = [
        r.path.replace("{room_id}", room["id"]) for r in routes if "{" not in r.path.replace("{room_id}", "")
    ]
    paths += [f"/static/{page.relative_to(WEB_DIR)}" for page in WEB_DIR.rglob("*.html")]
    docs = {"/docs", "/redoc", "/docs/oauth2-redirect"}
    html = []
    async with server.client() as client:
        for path in [*paths, *docs]:
            response = await client.get(path)
            if not response.headers.get("content-type", "").startswith("text/html"):
                continue
            html.append(path)
            expected = DOCS_HEADERS if path in docs else page_headers(server.settings.public_url)
            assert {name: response.headers.get(name) for name in expected} == expected, path
    assert {f"/s/{room['id']}", f"/s/{room['id']}/check", "/check", "/static/room.html", *docs} <= set(html)


def test_the_page_connects_only_to_its_own_origin() -> None:
    for public_url, websocket in (
        ("http://127.0.0.1:8000", "ws://127.0.0.1:8000"),
        ("https://duet.example.org/", "wss://duet.example.org"),
    ):
        policy = _directives(page_headers(public_url)["Content-Security-Policy"])
        assert policy["connect-src"] == ["'self'", websocket]  # no bare ws: / wss: (any host)
        assert policy["frame-ancestors"] == ["'none'"] and policy["default-src"] == ["'self'"]
    assert _directives(DOCS_HEADERS["Content-Security-Policy"]) == {"frame-ancestors": ["'none'"]}
