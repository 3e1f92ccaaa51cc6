"""The `duet` command as a developer uses it: `duet apikey create`, and `duet serve`'s first start."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import socket
import sys
from pathlib import Path

import httpx
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


async def test_serve_prints_a_working_key_and_demo_links_then_apikey_create(tmp_path: Path) -> None:
    port = _free_port()
    env = _env(tmp_path / "data", port)
    created = await asyncio.create_subprocess_exec(
        DUET,
        "apikey",
        "create",
        "booking-platform",
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(created.communicate(), 30)
    assert created.returncode == 0, err.decode()
    made_key = out.decode().strip()
    assert made_key.startswith("duet_") and "shown only this once" in err.decode()

    server = await asyncio.create_subprocess_exec(
        DUET, "serve", env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    assert server.stdout is not None
    seen: list[str] = []
    try:
        await asyncio.wait_for(_read_until(server.stdout, r"Uvicorn running on", seen), 30)
        text = "".join(seen)
        dev_key = re.search(r"API key \(development only\): (\S+)", text).group(1)  # type: ignore[union-attr]
        host_url = re.search(r"host \(Ana\): (\S+)", text).group(1)  # type: ignore[union-attr]
        guest_url = re.search(r"guest \(Ben\): (\S+)", text).group(1)  # type: ignore[union-attr]
        assert f"curl -s -X POST http://127.0.0.1:{port}/v1/rooms" in text
        assert host_url.startswith(f"http://127.0.0.1:{port}/s/")
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", trust_env=False) as client:
            for key in (dev_key, made_key):
                listed = await client.get("/v1/rooms", headers={"Authorization": f"Bearer {key}"})
                assert listed.status_code == 200 and listed.json()["total"] == 1  # the demo room
            room_id, token = split_join_url(guest_url)
            preview = await client.post(f"/s/{room_id}/preview", json={"token": token})
            assert preview.json()["you"] == {"role": "guest", "name": "Ben"}
            assert split_join_url(host_url)[0] == room_id
    finally:
        server.terminate()
        await asyncio.wait_for(server.wait(), 15)
    # The key file is private and the database holds only the key's hash.
    assert (tmp_path / "data" / "dev-api-key").stat().st_mode & 0o077 == 0
    assert dev_key.encode() not in (tmp_path / "data" / "duet.db").read_bytes()
