"""Join tokens: sign, verify, expiry, room and role binding, and key rotation (``kid``)."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jwt
import pytest
from duet_process import DuetProcess
from wsclient import split_join_url

from app.tokens import InvalidToken, JoinTokens, key_id
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


def test_a_caller_that_checks_the_rooms_times_can_leave_out_the_tokens_own() -> None:
    tokens = JoinTokens(SECRET)
    token = tokens.issue(room_id="r1", role=Role.GUEST, expires_at=LATER)
    claims = tokens.verify(token, room_id="r1", now=LATER + timedelta(days=1), check_expiry=False)
    assert claims.role is Role.GUEST  # a rescheduled room's link: the room decides
    with pytest.raises(InvalidToken, match="another room"):
        tokens.verify(token, room_id="r2", check_expiry=False)


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


OLD, NEW = "qaTaqDRT-eym1ZNlYU633d2VThItOmJsPw9w69vffd0", "cTD2B1xKTPIaJWp40LAGcXNsHBTrvt4baoKajz3oRJA"
OTHER = "SHEl0ObenPmwH6zP0JbXyqnM3HgJUKK2YUye32BTkSg"  # a key this server does not hold


def test_tokens_name_their_key_by_a_hash_of_it() -> None:
    token = JoinTokens(NEW).issue(room_id="r1", role=Role.HOST, expires_at=LATER)
    assert jwt.get_unverified_header(token) == {"alg": "HS256", "typ": "JWT", "kid": key_id(NEW)}
    assert len(key_id(NEW)) == 12 and key_id(NEW) != key_id(OLD) and NEW not in token


def test_after_a_rotation_links_signed_with_the_previous_key_still_work() -> None:
    before = JoinTokens(OLD).issue(room_id="r1", role=Role.GUEST, expires_at=LATER)
    rotated = JoinTokens(NEW, previous=OLD)
    assert rotated.verify(before, room_id="r1").role is Role.GUEST
    after = rotated.issue(room_id="r1", role=Role.HOST, expires_at=LATER)
    assert jwt.get_unverified_header(after)["kid"] == key_id(NEW)  # new links: the new key only
    with pytest.raises(InvalidToken, match="not valid"):
        JoinTokens(OLD).verify(after, room_id="r1")
    with pytest.raises(InvalidToken, match="not valid"):  # once the previous key is dropped
        JoinTokens(NEW).verify(before, room_id="r1")


def test_expiry_is_still_checked_for_the_previous_keys_links() -> None:
    expired = JoinTokens(OLD).issue(
        room_id="r1", role=Role.HOST, expires_at=datetime.now(UTC) - timedelta(seconds=1)
    )
    with pytest.raises(InvalidToken, match="expired"):
        JoinTokens(NEW, previous=OLD).verify(expired, room_id="r1")


def _signed(header: dict[str, object], claims: dict[str, object], key: str) -> str:
    """An HS256 JWT made by hand (PyJWT refuses to write a kid that is not a string)."""
    encode = jwt.utils.base64url_encode  # type: ignore[attr-defined]
    signing_input = b".".join(encode(json.dumps(part).encode()) for part in (header, claims))
    signature = hmac.new(key.encode(), signing_input, hashlib.sha256).digest()
    return (signing_input + b"." + encode(signature)).decode()


@pytest.mark.parametrize(
    "kid",
    [
        key_id(OTHER),
        key_id(NEW),  # names the current key, signed with another
        42,
        ["x"],
    ],
)
def test_a_kid_the_server_does_not_hold_is_refused(kid: object) -> None:
    claims = {"aud": "duet:join", "rid": "r1", "role": "host", "exp": int(LATER.timestamp())}
    token = _signed({"alg": "HS256", "typ": "JWT", "kid": kid}, claims, OTHER)
    with pytest.raises(InvalidToken, match="not valid"):
        JoinTokens(NEW, previous=OLD).verify(token, room_id="r1")


@pytest.mark.parametrize("key", [OLD, NEW])
def test_links_from_before_kids_work_with_either_key(key: str) -> None:
    # Tokens issued before tokens carried a kid: tried with the current key, then the previous one.
    claims = {"aud": "duet:join", "rid": "r1", "role": "guest", "exp": LATER}
    token = jwt.encode(claims, key, algorithm="HS256")
    assert JoinTokens(NEW, previous=OLD).verify(token, room_id="r1").role is Role.GUEST
    with pytest.raises(InvalidToken, match="not valid"):
        JoinTokens(NEW, previous=OLD).verify(jwt.encode(claims, OTHER, algorithm="HS256"), room_id="r1")


async def test_a_rotation_on_a_real_server(tmp_path: Path) -> None:
    # duet serve with the old key makes a room; restarted with the new key and the old one as
    # previous, the room's old link still opens the preview and new links name the new key; restarted
    # without the previous key, the old link is refused.
    async def serve(**keys: str) -> DuetProcess:
        server = DuetProcess(
            tmp_path / "data", settings={f"DUET_{name.upper()}": value for name, value in keys.items()}
        )
        server.api_key = api_key
        await server.start()
        return server

    async def preview(server: DuetProcess, link: str) -> int:
        room_id, token = split_join_url(link)
        async with server.api() as api:
            return (await api.post(f"/s/{room_id}/preview", json={"token": token})).status_code

    api_key = ""
    server = await serve(secret_key=OLD)
    try:
        api_key = await server.create_api_key()
        room = await server.create_room()
        old_link = room["join_urls"]["guest"]
    finally:
        await server.stop()
    server = await serve(secret_key=NEW, secret_key_previous=OLD)
    try:
        assert await preview(server, old_link) == 200
        async with server.api() as api:
            again = (await api.get(f"/v1/rooms/{room['id']}")).json()["join_urls"]["guest"]
        assert jwt.get_unverified_header(split_join_url(again)[1])["kid"] == key_id(NEW)
        assert await preview(server, again) == 200
    finally:
        await server.stop()
    server = await serve(secret_key=NEW)
    try:
        assert await preview(server, old_link) == 401
        assert await preview(server, again) == 200
    finally:
        await server.stop()
