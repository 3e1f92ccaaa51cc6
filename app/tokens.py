"""Join tokens: signed (HS256 JWT via PyJWT), bound to one room and one role, expiring with the room."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import jwt

from signaling.messages import Role

__all__ = ["InvalidToken", "JoinClaims", "JoinTokens"]

_AUDIENCE = "duet:join"
_ALGORITHM = "HS256"


class InvalidToken(ValueError):
    """The token is forged, malformed, expired, or for another room."""


@dataclass(frozen=True, slots=True)
class JoinClaims:
    """What a verified join token proves."""

    room_id: str
    role: Role
    expires_at: datetime


class JoinTokens:
    """Builds and verifies join tokens with one signing secret."""

    def __init__(self, secret: str) -> None:
        self._secret = secret

    def issue(self, *, room_id: str, role: Role, expires_at: datetime) -> str:
        claims = {"aud": _AUDIENCE, "rid": room_id, "role": role.value, "exp": expires_at}
        return jwt.encode(claims, self._secret, algorithm=_ALGORITHM)

    def verify(self, token: str, *, room_id: str, now: datetime | None = None) -> JoinClaims:
        """Return the claims of a valid token for ``room_id``; raise :class:`InvalidToken` otherwise."""
        try:
            claims = jwt.decode(
                token,
                self._secret,
                algorithms=[_ALGORITHM],
                audience=_AUDIENCE,
                options={"require": ["exp", "aud", "rid", "role"], "verify_exp": now is None},
            )
        except jwt.ExpiredSignatureError:
            raise InvalidToken("this join link has expired") from None
        except jwt.PyJWTError:
            raise InvalidToken("this join link is not valid") from None
        expires_at = datetime.fromtimestamp(claims["exp"], tz=UTC)
        if now is not None and now >= expires_at:
            raise InvalidToken("this join link has expired")
        if claims["rid"] != room_id:
            raise InvalidToken("this join link is for another room")
        try:
            role = Role(claims["role"])
        except ValueError:
            raise InvalidToken("this join link has no valid role") from None
        return JoinClaims(room_id=claims["rid"], role=role, expires_at=expires_at)
