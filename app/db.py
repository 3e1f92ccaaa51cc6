"""The async database engine and schema migrations (Alembic, run at start)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import event
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlmodel.ext.asyncio.session import AsyncSession

__all__ = ["Database"]

_MIGRATIONS = Path(__file__).parent / "migrations"


def _alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


class Database:
    """One async engine and its session factory; built per app, never a module global."""

    def __init__(self, url: str) -> None:
        parsed = make_url(url)
        kwargs: dict[str, Any] = {}
        if parsed.get_backend_name() == "sqlite":
            if parsed.database and parsed.database != ":memory:":
                Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
            kwargs["connect_args"] = {"timeout": 30}
        else:
            kwargs["pool_pre_ping"] = True  # a pooled connection may not survive a database restart
        self.engine: AsyncEngine = create_async_engine(url, **kwargs)
        if parsed.get_backend_name() == "sqlite":
            event.listen(self.engine.sync_engine, "connect", _sqlite_pragmas)
        self._sessions = async_sessionmaker(self.engine, class_=AsyncSession, expire_on_commit=False)

    def time_queries(self, observe: Callable[[float], None]) -> None:
        """Call ``observe(seconds)`` after each statement (SQLAlchemy's cursor events; the recipe in
        its "Profiling" FAQ). It runs on whichever thread executes the statement, so it must be
        thread-safe (prometheus-client's histograms are)."""

        def before(conn: Connection, *_: Any) -> None:
            conn.info.setdefault("duet_query_started", []).append(time.perf_counter())

        def after(conn: Connection, *_: Any) -> None:
            observe(time.perf_counter() - conn.info["duet_query_started"].pop())

        event.listen(self.engine.sync_engine, "before_cursor_execute", before)
        event.listen(self.engine.sync_engine, "after_cursor_execute", after)

    async def migrate(self, revision: str = "head") -> None:
        """Bring the schema up to ``revision``, by default the newest migration (creates it from empty)."""
        async with self.engine.begin() as conn:
            await conn.run_sync(lambda sync_conn: command.upgrade(_alembic_config(sync_conn), revision))

    async def downgrade(self, revision: str) -> None:
        """Take the schema back down to ``revision`` (``"base"``: no tables but Alembic's own)."""
        async with self.engine.begin() as conn:
            await conn.run_sync(lambda sync_conn: command.downgrade(_alembic_config(sync_conn), revision))

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        async with self._sessions() as session:
            yield session

    async def dispose(self) -> None:
        await self.engine.dispose()


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets readers go on while the event writer commits; foreign keys are off by default in SQLite.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()
