"""Join tokens: sign, verify, expiry, room and role binding."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import jwt
import pytest

from app.tokens import InvalidToken, JoinTokens
from signaling.messages import Role

SECRET = "s" * 48
LATER = datetime.now(UTC) + timedelta(hours=1)


@pytest.mark.parametrize("role", [Role.HOST, Role.GUEST])
def test_round_trip_keeps_room_and_role(role: Role) -> None:
    tokens = JoinTokens(SECRET)
    claims = tokens.verify(tokens.issue(room_id="r1", role=role, expires_at=LATER), room_id="r1")
    assert (claims.room_id, claims.role) == ("r1", role)
    assert abs((claims.expires_at - LATER).total_seconds()) < 1


def test_expired() -> None:
    tokens = JoinTokens(SECRET)
    token = tokens.issue(room_id="r1", role=Role.HOST, expires_at=datetime.now(UTC) - timedelta(seconds=1))
    with pytest.raises(InvalidToken, match="expired"):
        tokens.verify(token, room_id="r1")


def test_expiry_follows_the_clock_given() -> None:
    tokens = JoinTokens(SECRET)
    token = tokens.issue(room_id="r1", role=Role.HOST, expires_at=LATER)
    assert tokens.verify(token, room_id="r1", now=LATER - timedelta(seconds=1)).role is Role.HOST
    with pytest.raises(InvalidToken, match="expired"):
        tokens.verify(token, room_id="r1", now=LATER)


def test_other_room() -> None:
    tokens = JoinTokens(SECRET)
    with pytest.raises(InvalidToken, match="another room"):
        tokens.verify(tokens.issue(room_id="r1", role=Role.HOST, expires_at=LATER), room_id="r2")


def test_other_secret_and_tampering() -> None:
    token = JoinTokens(SECRET).issue(room_id="r1", role=Role.GUEST, expires_at=LATER)
    with pytest.raises(InvalidToken, match="not valid"):
        JoinTokens("t" * 48).verify(token, room_id="r1")
    header, payload, signature = token.split(".")
    promoted = jwt.utils.base64url_encode(  # type: ignore[attr-defined]
        jwt.utils.base64url_decode(payload).replace(b'"guest"', b'"host"')  # type: ignore[attr-defined]
    ).decode()
    with pytest.raises(InvalidToken, match="not valid"):
        JoinTokens(SECRET).verify(f"{header}.{promoted}.{signature}", room_id="r1")


@pytest.mark.parametrize(
    "claims",
    [
        {"aud": "duet:join", "rid": "r1", "role": "admin"},  # no such role
        {"aud": "something-else", "rid": "r1", "role": "host"},  # another audience
        {"aud": "duet:join", "role": "host"},  # no room
    ],
)
def test_claims_that_do_not_fit(claims: dict[str, str]) -> None:
    token = jwt.encode({**claims, "exp": LATER}, SECRET, algorithm="HS256")
    with pytest.raises(InvalidToken):
        JoinTokens(SECRET).verify(token, room_id="r1")


def test_alg_none_is_refused() -> None:
    token = jwt.encode(
        {"aud": "duet:join", "rid": "r1", "role": "host", "exp": LATER}, None, algorithm="none"
    )
    with pytest.raises(InvalidToken):
        JoinTokens(SECRET).verify(token, room_id="r1")
