"""The `duet` command as a developer uses it: `duet apikey create`, and `duet serve`'s first and later
starts."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
import socket
import sqlite3
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx
from duet_process import run_duet
from wsclient import split_join_url

DUET = shutil.which("duet", path=str(Path(sys.executable).parent)) or "duet"


def _env(data_dir: Path, port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DUET_")}
    env.update(DUET_DATA_DIR=str(data_dir), DUET_PORT=str(port), NO_PROXY="*")
    return env


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def _read_until(stream: asyncio.StreamReader, pattern: str, seen: list[str]) -> None:
    while not re.search(pattern, "".join(seen)):
        line = await stream.readline()
        assert line, "the process ended early:\n" + "".join(seen)
        seen.append(line.decode())


async def test_serve_prints_a_working_key_and_demo_links_once_then_where_they_are(tmp_path: Path) -> None:
    port = _free_port()
    env = _env(tmp_path / "data", port)
    out, err = await run_duet("apikey", "create", "booking-platform", env=env, timeout_s=30)
    made_key = out.strip()
    assert made_key.startswith("duet_") and "shown only this once" in err

    text = await _first_lines_of_serve(env)
    dev_key = re.search(r"API key \(development only\): (\S+)", text).group(1)  # type: ignore[union-attr]
    host_url = re.search(r"host \(Ana\): (\S+)", text).group(1)  # type: ignore[union-attr]
    guest_url = re.search(r"guest \(Ben\): (\S+)", text).group(1)  # type: ignore[union-attr]
    assert f"curl -s -X POST http://127.0.0.1:{port}/v1/rooms" in text
    assert host_url.startswith(f"http://127.0.0.1:{port}/s/")
    # The key file is private and the database holds only the key's hash.
    key_file = tmp_path / "data" / "dev-api-key"
    assert key_file.stat().st_mode & 0o077 == 0 and key_file.read_text() == dev_key
    assert dev_key.encode() not in (tmp_path / "data" / "duet.db").read_bytes()

    # The first start made the demo room with its key. One from before rooms had owners (made without
    # a key) is handed to the development key on the next start.
    with contextlib.closing(sqlite3.connect(tmp_path / "data" / "duet.db")) as db, db:
        assert db.execute("UPDATE room SET api_key_id = NULL WHERE api_key_id IS NOT NULL").rowcount == 1

    # Every later start says where the key is and how to see the links, and prints neither again.
    text = await _first_lines_of_serve(env, check=lambda client: _works(client, dev_key, made_key, guest_url))
    assert dev_key not in text and split_join_url(host_url)[1] not in text and "#t=" not in text
    assert f"in {key_file}" in text and f"$(cat {key_file})" in text
    room_id = split_join_url(host_url)[0]
    assert split_join_url(guest_url)[0] == room_id
    assert f"curl -s http://127.0.0.1:{port}/v1/rooms/{room_id}" in text


async def _works(client: httpx.AsyncClient, dev_key: str, made_key: str, guest_url: str) -> None:
    # The demo room belongs to the development key; another key does not see it.
    room_id, token = split_join_url(guest_url)
    for key, total, status in ((dev_key, 1, 200), (made_key, 0, 404)):
        headers = {"Authorization": f"Bearer {key}"}
        listed = await client.get("/v1/rooms", headers=headers)
        assert listed.status_code == 200 and listed.json()["total"] == total
        assert (await client.get(f"/v1/rooms/{room_id}", headers=headers)).status_code == status
    preview = await client.post(f"/s/{room_id}/preview", json={"token": token})
    assert preview.json()["you"] == {"role": "guest", "name": "Ben"}


async def _first_lines_of_serve(
    env: dict[str, str], check: Callable[[httpx.AsyncClient], Awaitable[None]] | None = None
) -> str:
    """Start ``duet serve``, return what it printed until it listened (after ``check``, if given, ran
    against it), then stop it."""
    server = await asyncio.create_subprocess_exec(
        DUET, "serve", env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    assert server.stdout is not None
    seen: list[str] = []
    try:
        await asyncio.wait_for(_read_until(server.stdout, r"Uvicorn running on", seen), 30)
        if check is not None:
            url = f"http://127.0.0.1:{env['DUET_PORT']}"
            async with httpx.AsyncClient(base_url=url, trust_env=False) as client:
                await check(client)
    finally:
        server.terminate()
        await asyncio.wait_for(server.wait(), 15)
    return "".join(seen)


async def test_development_refuses_to_listen_beyond_loopback(tmp_path: Path) -> None:
    # The probe: a development server (API key and demo links printed, its own secret) on 0.0.0.0.
    env = _env(tmp_path / "data", _free_port())
    out, err = await run_duet("serve", "--host", "0.0.0.0", env=env, timeout_s=30, returncode=2)
    assert out == ""
    assert "listens only on loopback, not '0.0.0.0'" in err and "DUET_ALLOW_REMOTE_DEV=true" in err
    assert "Traceback" not in err and not (tmp_path / "data").exists()  # nothing made
