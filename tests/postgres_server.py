"""A throwaway PostgreSQL server for the test session: Debian's binaries, its own data folder, loopback.

``PostgresServer.start()`` runs ``initdb`` and ``pg_ctl start`` as the ``postgres`` user when the tests
run as root (PostgreSQL refuses to run as root), in a fresh folder under the system temp folder (the
``postgres`` user cannot reach pytest's root-only ``tmp_path``), listening on a free port of
127.0.0.1 only. Durability is switched off: the data is thrown away at the end. Each test gets its own
database (``create_database``), so tests stay independent without restarting the server.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path

import asyncpg

__all__ = ["PostgresServer", "PostgresUnavailable", "find_pg_bin"]

_SUPERUSER = "postgres"
_SERVER_OPTIONS = "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200"


class PostgresUnavailable(RuntimeError):
    """PostgreSQL's server binaries (Debian's ``postgresql`` package) are not installed."""


def find_pg_bin() -> Path | None:
    """The newest ``/usr/lib/postgresql/<version>/bin`` holding ``initdb`` and ``pg_ctl``, if any."""
    found = [Path(p).parent for p in glob.glob("/usr/lib/postgresql/*/bin/initdb")]
    found = [b for b in found if (b / "pg_ctl").exists()]
    return max(found, key=lambda b: int(b.parent.name) if b.parent.name.isdigit() else 0, default=None)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class PostgresServer:
    """A running PostgreSQL server on ``127.0.0.1:port``; superuser ``postgres``, trust auth."""

    bin_dir: Path
    folder: Path
    """Holds the data folder, the Unix socket and the server log; removed by ``stop``."""
    port: int

    @property
    def data_dir(self) -> Path:
        return self.folder / "data"

    @classmethod
    def start(cls) -> PostgresServer:
        bin_dir = find_pg_bin()
        if bin_dir is None:
            raise PostgresUnavailable(
                "PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb): "
                "apt-get install postgresql"
            )
        folder = Path(tempfile.mkdtemp(prefix="duet-pg-"))
        if os.geteuid() == 0:
            shutil.chown(folder, _SUPERUSER, _SUPERUSER)
        server = cls(bin_dir=bin_dir, folder=folder, port=_free_port())
        try:
            server._run(
                "initdb", "-D", str(server.data_dir), "-U", _SUPERUSER, "--auth=trust",
                "-E", "UTF8", "--no-locale", "--no-sync",
            )  # fmt: skip
            options = f"-c listen_addresses=127.0.0.1 -p {server.port} -k {folder} {_SERVER_OPTIONS}"
            server._run(
                "pg_ctl", "-D", str(server.data_dir), "-l", str(folder / "server.log"),
                "-o", options, "-w", "-t", "30", "start",
            )  # fmt: skip
        except BaseException:
            server._remove()
            raise
        return server

    def stop(self) -> None:
        try:
            self._run("pg_ctl", "-D", str(self.data_dir), "-m", "immediate", "-w", "stop")
        finally:
            self._remove()

    def url(self, database: str) -> str:
        return f"postgresql+asyncpg://{_SUPERUSER}@127.0.0.1:{self.port}/{database}"

    async def create_database(self) -> str:
        """A new empty database; returns its name."""
        name = f"duet_{uuid.uuid4().hex[:16]}"
        # FILE_COPY: a plain copy of the small template, ~2.5x faster here than the default WAL_LOG.
        await self._admin(f'CREATE DATABASE "{name}" STRATEGY FILE_COPY')
        return name

    async def drop_database(self, name: str) -> None:
        await self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    async def _admin(self, sql: str) -> None:
        conn = await asyncpg.connect(host="127.0.0.1", port=self.port, user=_SUPERUSER, database="postgres")
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    def _run(self, program: str, *args: str) -> None:
        command = [str(self.bin_dir / program), *args]
        if os.geteuid() == 0:
            command = ["runuser", "-u", _SUPERUSER, "--", *command]
        result = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False, cwd="/")
        if result.returncode != 0:
            log = self.folder / "server.log"
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise RuntimeError(f"{program} failed ({result.returncode}): {result.stderr.strip()}\n{tail}")

    def _remove(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)
