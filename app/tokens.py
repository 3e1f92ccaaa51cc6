"""Join tokens: signed (HS256 JWT via PyJWT), bound to one room and one role, expiring with the room.

Each token names its signing key in its ``kid`` header (a short hash of the key, never the key). A
rotation keeps the old key as the previous one (``DUET_SECRET_KEY_PREVIOUS``): new tokens are signed
with the current key, and links signed with the previous one keep working until they expire. A
token naming any other key is refused; one with no ``kid`` (issued before tokens had one) is tried
with both keys.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import jwt
from jwt.types import Options

from signaling.messages import Role

__all__ = ["InvalidToken", "JoinClaims", "JoinTokens", "key_id"]

_AUDIENCE = "duet:join"
_ALGORITHM = "HS256"


def key_id(secret: str) -> str:
    """The ``kid`` of tokens signed with ``secret``: 12 hex digits of a domain-separated SHA-256 of it."""
    return hashlib.sha256(b"duet join token key\0" + secret.encode()).hexdigest()[:12]


class InvalidToken(ValueError):
    """The token is forged, malformed, expired, or for another room."""


@dataclass(frozen=True, slots=True)
class JoinClaims:
    """What a verified join token proves."""

    room_id: str
    role: Role
    expires_at: datetime


class JoinTokens:
    """Builds join tokens with the current signing key and verifies them with it or the previous one."""

    def __init__(self, secret: str, *, previous: str | None = None) -> None:
        self._secret = secret
        self._kid = key_id(secret)
        self._keys = {self._kid: secret}
        if previous is not None and previous != secret:
            self._keys[key_id(previous)] = previous

    def issue(self, *, room_id: str, role: Role, expires_at: datetime) -> str:
        claims = {"aud": _AUDIENCE, "rid": room_id, "role": role.value, "exp": expires_at}
        return jwt.encode(claims, self._secret, algorithm=_ALGORITHM, headers={"kid": self._kid})

    def verify(
        self, token: str, *, room_id: str, now: datetime | None = None, check_expiry: bool = True
    ) -> JoinClaims:
        """Return the claims of a valid token for ``room_id``; raise :class:`InvalidToken` otherwise.

        ``check_expiry=False``: the token's own ``exp`` is not checked, for a caller that checks the
        room's current expiry instead (a rescheduled room keeps its join links)."""
        claims = self._decode(token, verify_exp=check_expiry and now is None)
        expires_at = datetime.fromtimestamp(claims["exp"], tz=UTC)
        if check_expiry and now is not None and now >= expires_at:
            raise InvalidToken("this join link has expired")
        if claims["rid"] != room_id:
            raise InvalidToken("this join link is for another room")
        try:
            role = Role(claims["role"])
        except ValueError:
            raise InvalidToken("this join link has no valid role") from None
        return JoinClaims(room_id=claims["rid"], role=role, expires_at=expires_at)

    def _candidate_keys(self, token: str) -> list[str]:
        """The keys that may have signed ``token``: the one its ``kid`` names, or (no ``kid``) each."""
        try:
            kid = jwt.get_unverified_header(token).get("kid")
        except jwt.PyJWTError:
            raise InvalidToken("this join link is not valid") from None
        if kid is None:
            return list(self._keys.values())
        if not isinstance(kid, str) or kid not in self._keys:
            raise InvalidToken("this join link is not valid")  # signed with a key this server does not hold
        return [self._keys[kid]]

    def _decode(self, token: str, *, verify_exp: bool) -> dict[str, Any]:
        options: Options = {"require": ["exp", "aud", "rid", "role"], "verify_exp": verify_exp}
        for key in self._candidate_keys(token):
            try:
                claims: dict[str, Any] = jwt.decode(
                    token, key, algorithms=[_ALGORITHM], audience=_AUDIENCE, options=options
                )
            except jwt.InvalidSignatureError:
                continue  # a token without a kid: the other key may have signed it
            except jwt.ExpiredSignatureError:
                raise InvalidToken("this join link has expired") from None
            except jwt.PyJWTError:
                raise InvalidToken("this join link is not valid") from None
            return claims
        raise InvalidToken("this join link is not valid")
