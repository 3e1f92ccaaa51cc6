"""Short-lived TURN credentials, in the TURN REST scheme coturn implements (``use-auth-secret``).

duet and the TURN server share one secret. For each participant at join time duet issues

- username ``<expiry>:<user id>`` (``expiry``: UNIX seconds after which the server refuses it),
- password ``base64(HMAC-SHA1(secret, username))``,

and the TURN server recomputes the password from the username, so nothing is stored and a
credential that leaks stops working after ``ttl_s`` seconds. Source: "A REST API for Access
to TURN Services" (draft-uberti-behave-turn-rest-00, section 2.2) and coturn's
``--use-auth-secret`` / ``--static-auth-secret`` options.

The expiry bounds new allocations only: coturn checks it when a client first authenticates on a
connection (``get_user_key``) and accepts that allocation's later Refresh, CreatePermission and
ChannelBind requests with the key it cached then, so a call outlives its credentials
(``tests/e2e/test_turn_relay.py``). An ICE restart allocates anew and needs a valid one: connected
participants get fresh credentials every ``turn_refresh_s`` (:meth:`app.live_rooms.LiveRooms.sweep`).

Pure functions, the clock passed in. Credentials are never logged.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import math
from collections.abc import Sequence

from app.config import Settings
from signaling.messages import IceServer

__all__ = ["ice_servers_for", "participant_ice_servers", "turn_credentials"]

_SEPARATOR = ":"
"""coturn's default ``--rest-api-separator`` between the expiry and the user id."""


def turn_credentials(secret: str, *, user_id: str, now: float, ttl_s: int) -> tuple[str, str]:
    """``(username, password)`` valid until ``now + ttl_s`` (UNIX seconds, rounded up).

    ``user_id`` only labels the allocation in the TURN server's logs; it may not contain the
    separator ``:``. Raises :class:`ValueError` for an empty secret or a TTL that is not positive.
    """
    if not secret:
        raise ValueError("expected a non-empty TURN secret, got an empty one")
    if ttl_s <= 0:
        raise ValueError(f"expected a positive TTL in seconds, got {ttl_s}")
    if not user_id or _SEPARATOR in user_id:
        raise ValueError(f"expected a user id without {_SEPARATOR!r}, got {user_id!r}")
    username = f"{math.ceil(now) + ttl_s}{_SEPARATOR}{user_id}"
    digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return username, base64.b64encode(digest).decode("ascii")


def participant_ice_servers(
    *,
    ice_servers: Sequence[IceServer],
    turn_urls: Sequence[str],
    turn_secret: str | None,
    user_id: str,
    now: float,
    ttl_s: int,
) -> list[IceServer]:
    """The ``iceServers`` one participant gets in ``welcome``.

    The TURN servers of ``turn_urls`` come first, with credentials issued now for ``user_id``
    (aiortc uses only the first TURN server it is given), then the configured ``ice_servers``
    unchanged. Without ``turn_urls`` or a secret it is just ``ice_servers``.
    """
    servers = list(ice_servers)
    if not turn_urls or not turn_secret:
        return servers
    username, password = turn_credentials(turn_secret, user_id=user_id, now=now, ttl_s=ttl_s)
    return [IceServer(urls=list(turn_urls), username=username, credential=password), *servers]


def ice_servers_for(settings: Settings, *, room_id: str, role: str, now: float) -> list[IceServer]:
    """The ``iceServers`` for ``role`` joining ``room_id`` now, as ``settings`` configure them.

    The TURN user id is ``<room id>.<role>``, so the TURN server's logs tie an allocation to a
    room without naming anyone.
    """
    return participant_ice_servers(
        ice_servers=settings.ice_servers,
        turn_urls=settings.turn_urls,
        turn_secret=settings.turn_secret.get_secret_value() if settings.turn_secret else None,
        user_id=f"{room_id}.{role}",
        now=now,
        ttl_s=settings.turn_ttl_s,
    )
