"""Alembic migrations from an empty database, on SQLite and PostgreSQL: they build the models' schema."""

from __future__ import annotations

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

TABLES = {"api_key", "event", "participant", "room"}


def _diffs(conn: sa.Connection) -> list[Any]:
    return list(compare_metadata(MigrationContext.configure(conn), SQLModel.metadata))


def _tables(conn: sa.Connection) -> set[str]:
    return set(sa.inspect(conn).get_table_names())


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
    db = Database(database_url)
    now = datetime(2026, 11, 25, 15, 0)  # naive UTC, as the columns hold it
    try:
        await db.migrate("0001")
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
    finally:
        await db.dispose()
