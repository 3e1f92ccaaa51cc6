"""compose.yaml's coturn, for real: its configuration file, variables filled in, runs Debian's
``turnserver``, which then grants a relay to credentials duet issues and refuses others, and refuses
to relay into the TURN host's own networks (loopback, private, link-local and metadata, CGNAT).

No Docker engine runs here, so this checks what can be checked without one: the file's shape, that
duet and coturn share the secret and the TURN address, and the coturn configuration itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import re
import secrets
import shutil
import socket
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from aioice import stun
from aioice.stun import TransactionFailed
from aioice.turn import TurnClientUdpProtocol
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
    """A port free for UDP and TCP on 127.0.0.1 and ::1, below Linux's ephemeral range: turnserver
    listens on both, and a port the kernel picked for UDP is often some loopback TCP connection's
    local port already (coturn then retries its TCP listener for seconds before it answers at all)."""
    low, _ = map(int, Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split())
    for _ in range(100):
        port = random.randrange(10_000, low)
        try:
            for family, host in ((socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")):
                for kind in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
                    with socket.socket(family, kind) as sock:
                        sock.bind((host, port))
        except OSError:
            continue
        return port
    raise AssertionError(f"no port free for UDP and TCP between 10000 and {low}")


@dataclass
class ComposeTurn:
    """Debian's ``turnserver`` running compose.yaml's coturn configuration on loopback."""

    port: int
    secret: str
    log: Path

    def credentials(self, *, age_s: float = 0) -> tuple[str, str]:
        """duet's credentials for a host, issued ``age_s`` seconds ago, valid for 600 s."""
        return turn_credentials(self.secret, user_id="room.host", now=time.time() - age_s, ttl_s=600)

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


@pytest.fixture
async def compose_turn(compose: dict[str, Any], tmp_path: Path) -> AsyncIterator[ComposeTurn]:
    if shutil.which(TURNSERVER) is None:
        pytest.fail(f"no turnserver at {TURNSERVER}: install Debian's 'coturn' package")
    secret = secrets.token_urlsafe(32)
    values = {"TURN_HOST": "duet.test", "TURN_EXTERNAL_IP": "127.0.0.1", "DUET_TURN_SECRET": secret}
    config = tmp_path / "turnserver.conf"
    config.write_text(_filled(compose["configs"]["turnserver"]["content"], values))
    turn = ComposeTurn(port=_free_port(), secret=secret, log=tmp_path / "turnserver.log")
    # The file as compose mounts it; on top, only what a loopback test needs (command-line options
    # win over the file's): a free port on 127.0.0.1 and ::1, relays of the family of the client's
    # own address, loopback peers allowed as far as coturn's own check goes (the file's
    # denied-peer-ip still refuses them), its database and pid file here. It logs to stdout, as
    # in its container: the test keeps that in a file.
    # fmt: off
    command = [
        TURNSERVER, "-c", str(config),
        "--listening-ip", "127.0.0.1", "--listening-ip", "::1",
        "--relay-ip", "127.0.0.1", "--relay-ip", "::1",
        "--listening-port", str(turn.port), "--allocation-default-address-family=keep",
        "--allow-loopback-peers", "--userdb", str(tmp_path / "turndb"),
        "--pidfile", str(tmp_path / "turnserver.pid"),
    ]
    # fmt: on
    with turn.log.open("wb") as log:
        process = await asyncio.create_subprocess_exec(*command, stdout=log, stderr=asyncio.subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 10
        while True:  # until it listens: an allocation is the probe
            try:
                async with _allocation(turn, "127.0.0.1", *turn.credentials()):
                    break
            except (TimeoutError, ConnectionError, OSError):
                assert process.returncode is None, turn.log_text()
                assert time.monotonic() < deadline, "turnserver did not answer within 10 s"
                await asyncio.sleep(0.2)  # a retry interval, not synchronisation
        yield turn
    finally:
        process.terminate()
        await asyncio.wait_for(process.wait(), 5)


@contextlib.asynccontextmanager
async def _allocation(
    turn: ComposeTurn, host: str, username: str, password: str
) -> AsyncIterator[TurnClientUdpProtocol]:
    """A TURN allocation (aioice's client) on the server at ``host``, deleted on leaving; its relayed
    address is ``relayed_address``, of ``host``'s family."""
    loop = asyncio.get_running_loop()
    server = (host, turn.port)
    transport, client = await loop.create_datagram_endpoint(
        lambda: TurnClientUdpProtocol(server, username, password, lifetime=600, channel_refresh_time=300),
        remote_addr=server,
    )
    try:
        await asyncio.wait_for(client.connect(), 10)
        yield client
    finally:
        if client.refresh_task is not None:
            await client.delete()
        transport.close()


async def _create_permission(client: TurnClientUdpProtocol, peer: str) -> str:
    """Ask for a permission to relay to and from ``peer`` (RFC 8656 section 9; nothing is sent to the
    peer): ``"granted"``, or the server's error code and reason."""
    request = stun.Message(message_method=stun.Method.CREATE_PERMISSION, message_class=stun.Class.REQUEST)
    request.attributes["XOR-PEER-ADDRESS"] = (peer, 0)
    try:
        await asyncio.wait_for(client.request_with_retry(request), 10)
    except TransactionFailed as exc:
        code, reason = exc.response.attributes["ERROR-CODE"]
        return f"{code} {reason}"
    return "granted"


async def test_the_compose_coturn_configuration_relays_for_duet_credentials(
    compose_turn: ComposeTurn,
) -> None:
    async with _allocation(compose_turn, "127.0.0.1", *compose_turn.credentials()) as client:
        assert client.relayed_address is not None
        host, port = client.relayed_address
        assert host == "127.0.0.1" and 49152 <= port <= 65535  # compose's relay port range
    # Refused: another secret's password, and duet's own credential once expired.
    username, _ = compose_turn.credentials()
    _, forged = turn_credentials("not-the-secret", user_id="room.host", now=time.time(), ttl_s=600)
    for bad_username, bad_password in ((username, forged), compose_turn.credentials(age_s=700)):
        with pytest.raises(TransactionFailed, match="401 - Unauthorized"):
            async with _allocation(compose_turn, "127.0.0.1", bad_username, bad_password):
                pass


DENIED_PEERS = {
    "127.0.0.1": "127.0.0.0-127.255.255.255",  # this host (even with --allow-loopback-peers)
    "0.1.2.3": None,  # 4.6.1 refuses it before the list as well (and logs no range)
    "10.1.2.3": "10.0.0.0-10.255.255.255",
    "100.64.0.1": "100.64.0.0-100.127.255.255",  # CGNAT
    "169.254.169.254": "169.254.0.0-169.254.255.255",  # cloud metadata
    "172.16.0.1": "172.16.0.0-172.31.255.255",
    "192.168.1.1": "192.168.0.0-192.168.255.255",
    "224.0.0.1": None,  # no-multicast-peers
    "::1": "::1",
    "fd00:ec2::254": "fc00::-fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",  # cloud metadata over IPv6
    "fe80::1": "fe80::-febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
    "::ffff:10.1.2.3": "::ffff:0.0.0.0-::ffff:255.255.255.255",  # IPv4-mapped: reaches 10.1.2.3
    "::ffff:127.0.0.1": "::ffff:0.0.0.0-::ffff:255.255.255.255",
    "ff02::1": None,  # no-multicast-peers
}
"""Peers the configuration refuses, and the denied-peer-ip range that refuses each (coturn logs it;
``None``: another of its rules refuses it first)."""

GRANTED_PEERS = ["203.0.113.7", "198.18.0.1", "100.128.0.1", "2001:db8::7"]
"""Peers on the internet (documentation and benchmarking ranges stand in for them)."""


async def test_the_compose_coturn_configuration_refuses_relays_to_private_addresses(
    compose_turn: ComposeTurn,
) -> None:
    # A relay is a way into the TURN host's own networks: a client asks for a permission to a peer
    # there, then sends through the relay. coturn answers 403 Forbidden to the permission instead.
    outcomes: dict[str, str] = {}
    for family, host in (("ipv4", "127.0.0.1"), ("ipv6", "::1")):
        # A relay of the family of ``host`` (its relayed address reads 127.0.0.1 either way: the
        # file's external-ip); a peer of the other family would get 443 Peer Address Family Mismatch.
        async with _allocation(compose_turn, host, *compose_turn.credentials()) as client:
            for peer in [*DENIED_PEERS, *GRANTED_PEERS]:
                if (":" in peer) == (family == "ipv6"):
                    outcomes[peer] = await _create_permission(client, peer)
    assert outcomes == {
        **{peer: "403 Forbidden IP" for peer in DENIED_PEERS},
        **{peer: "granted" for peer in GRANTED_PEERS},
    }, compose_turn.log_text()
    log = compose_turn.log_text()
    for peer, denied_range in DENIED_PEERS.items():
        if denied_range is not None:
            assert f"A peer IP {peer} denied in the range: {denied_range}" in log, peer
