"""Join links, parsed: ``{base}/s/{room_id}#t={token}`` to the signaling WebSocket URL.

A pure value object and its parser, apart from any transport. The token sits in
the URL fragment (browsers never send fragments to a server); the headless
participant sends it only inside the ``join`` frame, as the browser page does.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit, urlunsplit

from media.errors import JoinUrlError

__all__ = ["JoinUrl", "parse_join_url"]

_ROOM_PATH = re.compile(r"^(?P<prefix>(?:/[^/]+)*)/s/(?P<room_id>[A-Za-z0-9_-]+)/?$")
_WS_SCHEMES = {"http": "ws", "https": "wss"}


@dataclass(frozen=True, slots=True)
class JoinUrl:
    """One participant's way into one room."""

    base_url: str
    """Scheme, host and any path prefix in front of ``/s/``, e.g. ``https://duet.example``."""
    room_id: str
    token: str
    """The join token from the fragment; secret, never logged in full."""
    websocket_url: str
    """Where signaling happens: ``ws(s)://{host}{prefix}/s/{room_id}/ws``."""

    def __repr__(self) -> str:  # keep the token out of logs and tracebacks
        return f"JoinUrl(base_url={self.base_url!r}, room_id={self.room_id!r}, token='…')"


def parse_join_url(url: str) -> JoinUrl:
    """Parse a join link; raise :class:`JoinUrlError` saying what is wrong with it."""
    text = url.strip()
    if not text:
        raise JoinUrlError("join URL is empty; expected {base}/s/{room_id}#t={token}")
    parts = urlsplit(text)
    scheme = parts.scheme.lower()
    if scheme not in _WS_SCHEMES:
        got = f"{parts.scheme!r}" if parts.scheme else "no scheme"
        raise JoinUrlError(f"join URL must start with http:// or https:// (got {got})")
    if not parts.hostname:
        raise JoinUrlError(f"join URL has no host (got {_redact(text)!r})")
    match = _ROOM_PATH.match(parts.path)
    if match is None:
        raise JoinUrlError(
            "join URL path must end with /s/{room_id}, the room id made of letters, digits, '-' and '_' "
            f"(got {parts.path or '/'!r})"
        )
    token = _token_from_fragment(parts.fragment)
    prefix, room_id = match["prefix"], match["room_id"]
    return JoinUrl(
        base_url=urlunsplit((scheme, parts.netloc, prefix, "", "")),
        room_id=room_id,
        token=token,
        websocket_url=urlunsplit((_WS_SCHEMES[scheme], parts.netloc, f"{prefix}/s/{room_id}/ws", "", "")),
    )


def _token_from_fragment(fragment: str) -> str:
    if not fragment:
        raise JoinUrlError("join URL has no token: expected a fragment '#t={token}' at the end")
    fields: dict[str, str] = {}
    for item in fragment.split("&"):
        name, _, value = item.partition("=")
        fields.setdefault(name, value)
    if "t" not in fields:
        names = ", ".join(sorted(repr(name) for name in fields)) or "nothing"
        raise JoinUrlError(f"join URL fragment must hold 't={{token}}' (got {names})")
    token = unquote(fields["t"]).strip()
    if not token:
        raise JoinUrlError("join URL token is empty: expected '#t={token}'")
    return token


def _redact(url: str) -> str:
    return url.split("#", 1)[0] + ("#…" if "#" in url else "")
