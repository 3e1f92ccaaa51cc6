"""Shared fixtures: a real duet server (uvicorn on a free loopback port) with its own data folder.

The server's database is SQLite in the test's folder unless the test parametrizes ``database_url``
with ``"postgresql"`` (indirectly): it then gets a fresh database of its own on a PostgreSQL server
started once for the whole session (``postgres``; see ``postgres_server.py``). ``tests/app`` runs
every test that uses the database on both.
"""

from __future__ import annotations

import asyncio
import os
import socket
import threading
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

import httpx
import pytest
import uvicorn
from netlab import Lab, LabUnavailable
from postgres_server import PostgresServer, PostgresUnavailable

from app import crud
from app.config import Settings
from app.db import Database
from app.main import create_app
from app.server import uvicorn_config


class _Server(uvicorn.Server):
    """uvicorn that signals a thread-safe event once it is listening."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.ready = threading.Event()

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        self.ready.set()


@dataclass
class RunningServer:
    """A live duet server for one test."""

    url: str
    api_key: str
    settings: Settings

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}"}

    def client(self, api_key: str | None = None) -> httpx.AsyncClient:
        """A client sending the fixture's API key, or ``api_key``."""
        headers = self.headers if api_key is None else {"Authorization": f"Bearer {api_key}"}
        return httpx.AsyncClient(base_url=self.url, headers=headers, timeout=10, trust_env=False)

    async def make_api_key(self, name: str, *, admin: bool = False) -> str:
        """Another API key on this server's database (the fixture's own is ``api_key``)."""
        return await _make_api_key(self.settings, name=name, admin=admin)

    async def create_room(self, **overrides: Any) -> dict[str, Any]:
        body: dict[str, Any] = {
            "title": "Weekly mentoring",
            "host": {"name": "Ana"},
            "guest": {"name": "Ben"},
        }
        body.update(overrides)
        async with self.client() as client:
            response = await client.post("/v1/rooms", json=body)
        assert response.status_code == 201, response.text
        room: dict[str, Any] = response.json()
        return room

    def ws_url(self, room_id: str) -> str:
        return self.url.replace("http://", "ws://") + f"/s/{room_id}/ws"


def _free_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def make_settings(data_dir: Path, port: int, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "env": "test",
        "data_dir": data_dir,
        "public_url": f"http://127.0.0.1:{port}",
        "ice_servers": [],
        "event_flush_interval_s": 0.05,
    }
    values.update(overrides)
    return Settings(**values)


async def _make_api_key(settings: Settings, *, name: str = "tests", admin: bool = False) -> str:
    db = Database(settings.database_url)
    try:
        await db.migrate()
        key = crud.new_api_key()
        async with db.session() as session:
            await crud.create_api_key(session, name=name, key=key, admin=admin)
        return key
    finally:
        await db.dispose()


DATABASES = ["sqlite", "postgresql"]
"""The backends ``database_url`` can be parametrized with (``indirect=True``)."""


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() not in ("", "0", "false")


def unavailable(reason: str) -> NoReturn:
    """Something a test needs cannot be had here: a failure in CI (which installs it), a skip elsewhere."""
    if _in_ci():
        pytest.fail(f"{reason}; CI runs these tests", pytrace=False)
    pytest.skip(f"{reason} (CI runs these tests)")


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """One PostgreSQL server for the session. Missing PostgreSQL fails in CI, skips elsewhere."""
    try:
        pg = PostgresServer.start()
    except PostgresUnavailable as error:
        unavailable(f"{error}; the persistence tests run on PostgreSQL too")
    try:
        yield pg
    finally:
        pg.stop()


@pytest.fixture
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """SQLite in the test's data folder, or (param ``"postgresql"``) a fresh PostgreSQL database."""
    backend = getattr(request, "param", "sqlite")
    if backend == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'data' / 'duet.db'}"
        return
    assert backend == "postgresql", f"database_url: expected one of {DATABASES}, got {backend!r}"
    pg: PostgresServer = request.getfixturevalue("postgres")
    name = await pg.create_database()
    try:
        yield pg.url(name)
    finally:
        await pg.drop_database(name)


@pytest.fixture
def server_settings() -> dict[str, Any]:
    """Override to change the server's settings for one module or test."""
    return {}


@pytest.fixture
async def server(
    tmp_path: Path, server_settings: dict[str, Any], database_url: str
) -> AsyncIterator[RunningServer]:
    sock = _free_socket()
    port = sock.getsockname()[1]
    settings = make_settings(tmp_path / "data", port, **{"database_url": database_url, **server_settings})
    api_key = await _make_api_key(settings)
    config = uvicorn_config(create_app(settings), settings, log_level="warning", lifespan="on")
    srv = _Server(config)
    thread = threading.Thread(target=lambda: asyncio.run(srv.serve(sockets=[sock])), daemon=True)
    thread.start()
    try:
        assert await asyncio.to_thread(srv.ready.wait, 15), "server did not start"
        yield RunningServer(url=f"http://127.0.0.1:{port}", api_key=api_key, settings=settings)
    finally:
        srv.should_exit = True
        await asyncio.to_thread(thread.join, 15)
        sock.close()


@pytest.fixture
async def lab() -> AsyncIterator[Lab]:
    """A network lab of namespaces (tests/netlab). Where they cannot be made: fails in CI, skips
    elsewhere (with the reason)."""
    try:
        async with Lab.create() as running:
            yield running
    except LabUnavailable as error:
        unavailable(f"network namespaces unavailable: {error}")
