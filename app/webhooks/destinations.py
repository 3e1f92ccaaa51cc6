"""Where duet may send a webhook: not to itself, its network, or a cloud metadata service (SSRF).

The endpoint's host is resolved and every address checked with the same table the pre-call test
uses for the candidates it may contact (``media.remote_candidates``): metadata endpoints, ``0.0.0.0/8``,
multicast and broadcast never; loopback, private, link-local and CGNAT addresses only in development
or for a host the deployment names (``DUET_WEBHOOK_ALLOW_HOSTS``). Checked when the endpoint is
registered and again before each delivery (a name may resolve elsewhere later).
"""

from __future__ import annotations

import asyncio
import socket
from urllib.parse import urlsplit

from media.remote_candidates import candidate_refusal

__all__ = ["RESOLVE_TIMEOUT_S", "destination_refusal"]

RESOLVE_TIMEOUT_S = 5.0


async def destination_refusal(url: str, *, allow_private: bool, allow_hosts: frozenset[str]) -> str | None:
    """Why ``url`` must not be contacted (in words, for the API and the delivery log); ``None`` if it may."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "the url must be http or https with a host"
    host = parts.hostname
    port = parts.port or (443 if parts.scheme == "https" else 80)
    allowed = allow_private or host in allow_hosts or f"{host}:{port}" in allow_hosts
    try:
        found = await asyncio.wait_for(
            asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM), RESOLVE_TIMEOUT_S
        )
    except (OSError, TimeoutError, UnicodeError):
        return f"{host} does not resolve"
    for _family, _type, _proto, _name, sockaddr in found:
        address = str(sockaddr[0])
        refusal = candidate_refusal(address, allow_private=allowed)
        if refusal is not None:
            return f"{host} is at {address}: {refusal}"
    return None
