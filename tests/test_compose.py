"""compose.yaml's coturn, for real: its configuration file, variables filled in, runs Debian's
``turnserver``, which then grants a relay to credentials duet issues and refuses others.

No Docker engine runs here, so this checks what can be checked without one: the file's shape, that
duet and coturn share the secret and the TURN address, and the coturn configuration itself.
"""

from __future__ import annotations

import asyncio
import json
import re
import secrets
import shutil
import socket
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from aioice.stun import TransactionFailed
from aioice.turn import create_turn_endpoint
from coturn import TURNSERVER

from app.turn import turn_credentials

COMPOSE = Path(__file__).resolve().parent.parent / "compose.yaml"
VARIABLE = re.compile(r"\$\{(\w+)(?::\?[^}]*)?\}")


def _filled(text: str, values: dict[str, str]) -> str:
    """``text`` with compose's ``${NAME}`` / ``${NAME:?message}`` replaced from ``values``."""
    return VARIABLE.sub(lambda m: values[m.group(1)], text)


@pytest.fixture
def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())
    return loaded


def test_duet_and_coturn_share_the_secret_and_the_address(compose: dict[str, Any]) -> None:
    duet, coturn = compose["services"]["duet"], compose["services"]["coturn"]
    values = {"TURN_HOST": "turn.example.org", "TURN_EXTERNAL_IP": "203.0.113.10", "DUET_TURN_SECRET": "s"}
    urls = json.loads(_filled(duet["environment"]["DUET_TURN_URLS"], values))
    assert urls == ["turn:turn.example.org:3478?transport=udp", "turn:turn.example.org:3478?transport=tcp"]
    assert VARIABLE.fullmatch(duet["environment"]["DUET_TURN_SECRET"]).group(1) == "DUET_TURN_SECRET"  # type: ignore[union-attr]
    config = _filled(compose["configs"]["turnserver"]["content"], values)
    assert "static-auth-secret=s\n" in config and "use-auth-secret\n" in config
    assert "realm=turn.example.org\n" in config and "listening-port=3478\n" in config
    # The secret is in the mounted file only, never on coturn's command line (the process list).
    assert coturn["command"] == ["-c", "/etc/coturn/turnserver.conf"]
    assert not any("secret" in part for part in coturn["command"])


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def _allocate(port: int, username: str, password: str) -> tuple[str, int]:
    """A TURN allocation on the server at ``port``; the relayed address it granted."""
    transport, _ = await asyncio.wait_for(
        create_turn_endpoint(asyncio.DatagramProtocol, ("127.0.0.1", port), username, password), 10
    )
    try:
        relayed: tuple[str, int] = transport.get_extra_info("sockname")
        return relayed
    finally:
        transport.close()


async def test_the_compose_coturn_configuration_relays_for_duet_credentials(
    compose: dict[str, Any], tmp_path: Path
) -> None:
    if shutil.which(TURNSERVER) is None:
        pytest.fail(f"no turnserver at {TURNSERVER}: install Debian's 'coturn' package")
    secret = secrets.token_urlsafe(32)
    values = {"TURN_HOST": "duet.test", "TURN_EXTERNAL_IP": "127.0.0.1", "DUET_TURN_SECRET": secret}
    config = tmp_path / "turnserver.conf"
    config.write_text(_filled(compose["configs"]["turnserver"]["content"], values))
    port, log = _free_port(), tmp_path / "turnserver.log"
    # The file as compose mounts it; on top, only what a loopback test needs (command-line options
    # win over the file's): a free port on 127.0.0.1, loopback peers, the log in a file.
    # fmt: off
    command = [
        TURNSERVER, "-c", str(config),
        "--listening-ip", "127.0.0.1", "--relay-ip", "127.0.0.1", "--listening-port", str(port),
        "--allow-loopback-peers", "--userdb", str(tmp_path / "turndb"),
        "--pidfile", str(tmp_path / "turnserver.pid"), "--log-file", str(log), "--no-stdout-log",
    ]
    # fmt: on
    process = await asyncio.create_subprocess_exec(
        *command, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL
    )
    try:
        username, password = turn_credentials(secret, user_id="room.host", now=time.time(), ttl_s=600)
        deadline = time.monotonic() + 10
        while True:  # until it listens: an allocation is the probe
            try:
                relayed = await _allocate(port, username, password)
                break
            except (TimeoutError, ConnectionError, OSError):
                assert process.returncode is None, log.read_text(errors="replace") if log.exists() else ""
                assert time.monotonic() < deadline, "turnserver did not answer within 10 s"
                await asyncio.sleep(0.2)  # a retry interval, not synchronisation
        assert relayed[0] == "127.0.0.1" and 49152 <= relayed[1] <= 65535  # compose's relay port range
        # Refused: another secret's password, and duet's own credential once expired.
        _, forged = turn_credentials("not-the-secret", user_id="room.host", now=time.time(), ttl_s=600)
        expired = turn_credentials(secret, user_id="room.host", now=time.time() - 700, ttl_s=600)
        for bad_username, bad_password in ((username, forged), expired):
            with pytest.raises(TransactionFailed, match="401 - Unauthorized"):
                await _allocate(port, bad_username, bad_password)
    finally:
        process.terminate()
        await asyncio.wait_for(process.wait(), 5)
