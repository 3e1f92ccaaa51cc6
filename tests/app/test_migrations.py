"""Alembic migrations from an empty database, on SQLite and PostgreSQL: they build the models' schema."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlmodel import SQLModel

import app.models  # noqa: F401  (registers the tables on SQLModel.metadata)
from app import crud
from app.db import Database
from signaling.messages import Role

TABLES = {"api_key", "event", "idempotency_key", "participant", "room", "webhook_endpoint", "webhook_message"}


def _diffs(conn: sa.Connection) -> list[Any]:
    return list(compare_metadata(MigrationContext.configure(conn), SQLModel.metadata))


def _tables(conn: sa.Connection) -> set[str]:
    return set(sa.inspect(conn).get_table_names())


@asynccontextmanager
async def _database_at(database_url: str, revision: str) -> AsyncIterator[Database]:
    """The database migrated up to ``revision``, for a test to fill before migrating further."""
    db = Database(database_url)
    try:
        await db.migrate(revision)
        yield db
    finally:
        await db.dispose()


async def test_from_empty_to_head_matches_the_models_then_down_to_base_and_up(database_url: str) -> None:
    db = Database(database_url)
    try:
        await db.migrate()
        async with db.engine.connect() as conn:
            assert await conn.run_sync(_diffs) == []
            assert await conn.run_sync(_tables) == {*TABLES, "alembic_version"}
        await db.downgrade("base")
        async with db.engine.connect() as conn:
            assert await conn.run_sync(_tables) == {"alembic_version"}
        await db.migrate()
        async with db.engine.connect() as conn:
            assert await conn.run_sync(_diffs) == []
    finally:
        await db.dispose()


async def test_0002_keeps_existing_rooms_and_gives_them_its_defaults(database_url: str) -> None:
    now = datetime(2026, 11, 25, 15, 0)  # naive UTC, as the columns hold it
    async with _database_at(database_url, "0001") as db:
        async with db.engine.begin() as conn:
            assert await conn.run_sync(_diffs) != []  # the comparison does see 0002's columns missing
            await conn.execute(
                sa.text(
                    "INSERT INTO room (id, title, starts_at, expires_at, created_at, metadata)"
                    " VALUES ('r1', 'Before the fallback', :now, :later, :now, '{\"booking\": 7}')"
                ),
                {"now": now, "later": now + timedelta(days=1)},
            )
            await conn.execute(
                sa.text("INSERT INTO participant (room_id, role, name) VALUES ('r1', 'host', 'Ana')")
            )
        await db.migrate()
        async with db.session() as session:
            room = await crud.get_room(session, room_id="r1")
            people = await crud.get_participants(session, room_ids=["r1"])
        assert room is not None
        assert (room.fallback_policy, room.dial_in_pin, room.meta) == ("prompt", None, {"booking": 7})
        assert room.starts_at == now.replace(tzinfo=UTC)
        assert people["r1"][Role.HOST].share_phone is False


async def test_0004_keeps_rooms_owners_and_makes_no_key_admin(database_url: str) -> None:
    now = datetime(2026, 12, 3, 9, 0)  # naive UTC, as the columns hold it
    async with _database_at(database_url, "0003") as db:
        async with db.engine.begin() as conn:
            await conn.execute(
                sa.text(
                    "INSERT INTO api_key (id, name, prefix, key_hash, created_at)"
                    " VALUES (1, 'booking', 'duet_AAAA', :hash, :now)"
                ),
                {"hash": "a" * 64, "now": now},
            )
            for room_id, key_id in (("owned", 1), ("demo", None)):
                await conn.execute(
                    sa.text(
                        "INSERT INTO room (id, title, starts_at, expires_at, created_at, metadata,"
                        " api_key_id) VALUES (:id, 't', :now, :later, :now, '{}', :key)"
                    ),
                    {"id": room_id, "now": now, "later": now + timedelta(days=1), "key": key_id},
                )
        await db.migrate()
        async with db.session() as session:
            (key,) = await crud.list_api_keys(session)
            every, _ = await crud.list_rooms(session, owner=None, now=now, state=None, limit=10, offset=0)
            mine, total = await crud.list_rooms(session, owner=1, now=now, state=None, limit=10, offset=0)
        assert key.admin is False
        assert {room.id: room.api_key_id for room in every} == {"owned": 1, "demo": None}
        assert ([room.id for room in mine], total) == (["owned"], 1)
        await db.downgrade("0003")
        async with db.engine.connect() as conn:
            columns = await conn.run_sync(
                lambda c: {col["name"] for col in sa.inspect(c).get_columns("api_key")}
            )
        assert "admin" not in columns
        await db.migrate()
        async with db.engine.connect() as conn:
            assert await conn.run_sync(_diffs) == []
