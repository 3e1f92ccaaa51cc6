"""API keys' life: `duet apikey list` and `revoke` as real processes, and a running server refusing a
revoked key at its next request (on SQLite and PostgreSQL, like every database test here)."""

from __future__ import annotations

import hashlib
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from conftest import RunningServer
from duet_process import run_duet

from app import crud
from app.apikeys import AmbiguousKey, UnknownKey, choose_key, format_keys
from app.db import Database
from app.models import ApiKey

T0 = datetime(2026, 11, 25, 15, 0, tzinfo=UTC)


def _key(name: str, prefix: str, *, revoked_after_s: float | None = None) -> ApiKey:
    revoked = None if revoked_after_s is None else T0 + timedelta(seconds=revoked_after_s)
    return ApiKey(name=name, prefix=prefix, key_hash=prefix * 7, created_at=T0, revoked_at=revoked)


CI_OLD = _key("ci", "duet_AAAA", revoked_after_s=60)
CI_OLDER = _key("ci", "duet_BBBB", revoked_after_s=30)
CI_NEW = _key("ci", "duet_CCCC")
CI_OTHER = _key("ci", "duet_DDDD")


@pytest.mark.parametrize(
    ("matches", "query", "chosen"),
    [
        ([CI_NEW], "ci", CI_NEW),
        ([CI_NEW], "duet_CCCC", CI_NEW),
        ([CI_OLD, CI_NEW], "ci", CI_NEW),  # a name reused after its old key was revoked
        ([CI_OLDER, CI_OLD], "ci", CI_OLD),  # all revoked: the latest, nothing left to do
    ],
)
def test_choose_key_picks_the_one_active_key(matches: list[ApiKey], query: str, chosen: ApiKey) -> None:
    assert choose_key(matches, query) is chosen


def test_choose_key_refuses_unknown_and_ambiguous_queries() -> None:
    with pytest.raises(UnknownKey, match="No API key is named 'nope'"):
        choose_key([], "nope")
    with pytest.raises(
        AmbiguousKey, match=r"2 active API keys match 'ci'.*duet_CCCC.*duet_DDDD.*by its prefix"
    ):
        choose_key([CI_OLD, CI_NEW, CI_OTHER], "ci")


def test_format_keys_shows_prefix_times_status_scope_and_name_never_the_hash() -> None:
    ops = _key("operations team", "duet_EEEE")
    ops.admin = True
    lines = format_keys([CI_OLD, CI_NEW, ops])
    assert lines == [
        "PREFIX     CREATED                  STATUS                           SCOPE  NAME",
        "duet_AAAA  2026-11-25 15:00:00 UTC  revoked 2026-11-25 15:01:00 UTC  own    ci",
        "duet_CCCC  2026-11-25 15:00:00 UTC  active                           own    ci",
        "duet_EEEE  2026-11-25 15:00:00 UTC  active                           admin  operations team",
    ]
    assert all(key.key_hash not in "\n".join(lines) for key in (CI_OLD, CI_NEW, ops))


def _env(tmp_path: Path, database_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DUET_")}
    env.update(DUET_DATA_DIR=str(tmp_path / "data"), DUET_DATABASE_URL=database_url, NO_PROXY="*")
    return env


async def _make_keys(database_url: str, names: list[str]) -> list[tuple[str, ApiKey]]:
    db = Database(database_url)
    try:
        await db.migrate()
        made = []
        async with db.session() as session:
            for name in names:
                key = crud.new_api_key()
                made.append((key, await crud.create_api_key(session, name=name, key=key)))
        return made
    finally:
        await db.dispose()


async def _still_valid(database_url: str, keys: list[str]) -> list[bool]:
    db = Database(database_url)
    try:
        async with db.session() as session:
            return [await crud.api_key_by_secret(session, key=key) is not None for key in keys]
    finally:
        await db.dispose()


async def test_list_then_revoke_by_prefix_and_name_refusing_ambiguous_and_unknown(
    tmp_path: Path, database_url: str
) -> None:
    env = _env(tmp_path, database_url)
    out, err = await run_duet("apikey", "list", env=env)
    assert out == "" and "No API keys yet" in err

    made = await _make_keys(database_url, ["ci", "ci", "booking platform"])
    (first_key, first), (second_key, second), (booking_key, booking) = made
    out, err = await run_duet("apikey", "list", env=env)
    lines = out.splitlines()
    assert lines[0].split() == ["PREFIX", "CREATED", "STATUS", "SCOPE", "NAME"]
    assert [(line.split()[0], line.split()[4], line.split(maxsplit=6)[6]) for line in lines[1:]] == [
        (first.prefix, "active", "ci"),
        (second.prefix, "active", "ci"),
        (booking.prefix, "active", "booking platform"),
    ]
    for key, record in made:  # neither the keys nor their hashes are ever printed
        assert key not in out + err and record.key_hash not in out + err
        assert record.key_hash == hashlib.sha256(key.encode()).hexdigest()

    _, err = await run_duet("apikey", "revoke", "ci", env=env, returncode=1)
    assert "2 active API keys match 'ci'" in err and first.prefix in err and second.prefix in err
    assert await _still_valid(database_url, [first_key, second_key, booking_key]) == [True, True, True]

    out, _ = await run_duet("apikey", "revoke", first.prefix, env=env)
    assert out.startswith(f"Revoked API key 'ci' ({first.prefix}, created ")
    out, _ = await run_duet("apikey", "revoke", "ci", env=env)  # only one "ci" is still active
    assert out.startswith(f"Revoked API key 'ci' ({second.prefix}, created ")
    out, _ = await run_duet("apikey", "revoke", second.prefix, env=env)
    assert "was already revoked at" in out
    _, err = await run_duet("apikey", "revoke", "nope", env=env, returncode=1)
    assert "No API key is named 'nope' or has that prefix" in err
    assert await _still_valid(database_url, [first_key, second_key, booking_key]) == [False, False, True]

    out, _ = await run_duet("apikey", "list", env=env)
    statuses = {line.split()[0]: line.split()[4] for line in out.splitlines()[1:]}
    assert statuses == {first.prefix: "revoked", second.prefix: "revoked", booking.prefix: "active"}


async def test_a_running_server_refuses_a_key_from_the_request_after_its_revocation(
    server: RunningServer, tmp_path: Path
) -> None:
    env = _env(tmp_path, server.settings.database_url)
    async with server.client() as client:  # one keep-alive connection, before and after
        assert (await client.get("/v1/rooms")).status_code == 200
        out, _ = await run_duet("apikey", "revoke", "tests", env=env)
        assert out.startswith("Revoked API key 'tests'")
        refused = await client.get("/v1/rooms")
        created = await client.post(
            "/v1/rooms", json={"title": "t", "host": {"name": "Ana"}, "guest": {"name": "Ben"}}
        )
    for response in (refused, created):
        assert response.status_code == 401
        assert response.json() == {"code": "invalid_api_key", "message": "This API key is not valid."}
        assert response.headers["WWW-Authenticate"] == "Bearer"


async def test_an_admin_key_sees_and_ends_every_room_even_after_its_makers_key_is_revoked(
    server: RunningServer, tmp_path: Path
) -> None:
    env = _env(tmp_path, server.settings.database_url)
    out, err = await run_duet("apikey", "create", "operations", "--admin", env=env)
    admin_key = out.strip()
    assert admin_key.startswith("duet_") and "sees every room (admin)" in err
    out, _ = await run_duet("apikey", "list", env=env)
    scopes = {line.split(maxsplit=6)[6]: line.split()[5] for line in out.splitlines()[1:]}
    assert scopes == {"tests": "own", "operations": "admin"}

    room = await server.create_room()  # made by the fixture's key, "tests"
    async with server.client(admin_key) as admin:
        own = (
            await admin.post("/v1/rooms", json={"title": "t", "host": {"name": "C"}, "guest": {"name": "D"}})
        ).json()
        listed = (await admin.get("/v1/rooms")).json()
        assert [r["id"] for r in listed["items"]] == [own["id"], room["id"]]
        assert (await admin.get(f"/v1/rooms/{room['id']}")).json()["join_urls"] == room["join_urls"]
    async with server.client() as api:  # the admin key's own room is not the other key's
        assert (await api.get(f"/v1/rooms/{own['id']}")).status_code == 404

    await run_duet("apikey", "revoke", "tests", env=env)
    async with server.client() as api:
        assert (await api.get(f"/v1/rooms/{room['id']}")).status_code == 401
    async with server.client(admin_key) as admin:
        ended = await admin.post(f"/v1/rooms/{room['id']}/end")
        assert ended.status_code == 200 and ended.json()["state"] == "ended"
        ended_rooms = (await admin.get("/v1/rooms", params={"state": "ended"})).json()["items"]
        assert [r["id"] for r in ended_rooms] == [room["id"]]
