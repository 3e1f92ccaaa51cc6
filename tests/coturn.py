"""A real TURN server for tests: Debian's ``coturn`` (``turnserver``) on a free loopback port.

It runs as coturn runs next to duet in production (``use-auth-secret``: duet issues the
credentials), except that it relays between loopback addresses (``--allow-loopback-peers``)
and has no TLS, no CLI, its own database and log file in the test's folder.
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

TURNSERVER = os.environ.get("DUET_TURNSERVER", "/usr/bin/turnserver")
"""Debian's coturn (package ``coturn``)."""

REALM = "duet.test"

_STUN_BINDING_REQUEST = b"\x00\x01\x00\x00\x21\x12\xa4\x42"
"""STUN header: Binding request, no attributes, the magic cookie (RFC 8489 section 5); a
12-byte transaction id follows."""


@dataclass
class TurnServer:
    """A running ``turnserver``."""

    port: int
    secret: str
    log_file: Path
    process: subprocess.Popen[bytes]

    @property
    def url(self) -> str:
        return f"turn:127.0.0.1:{self.port}?transport=udp"

    def log(self) -> str:
        return self.log_file.read_text(errors="replace") if self.log_file.exists() else ""

    def stop(self) -> int:
        """Stop it (SIGTERM, then SIGKILL after 5 s); returns its exit status."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        return self.process.returncode


def _free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _answers_stun(port: int, timeout_s: float) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(timeout_s)
        sock.sendto(_STUN_BINDING_REQUEST + secrets.token_bytes(12), ("127.0.0.1", port))
        try:
            sock.recvfrom(2048)
        except (TimeoutError, ConnectionRefusedError):
            return False
        return True


def turnserver_argv(
    *, ip: str, port: int, secret: str, folder: Path, options: Sequence[str] = ()
) -> list[str]:
    """``turnserver`` as duet's TURN REST peer on ``ip``:``port`` (UDP and TCP), its database, pid and
    log (``turnserver.log``) in ``folder``; ``options`` are more command-line options."""
    # fmt: off
    return [
        TURNSERVER, "-n",  # no configuration file: everything is here
        "--listening-ip", ip, "--relay-ip", ip, "--listening-port", str(port),
        "--use-auth-secret", f"--static-auth-secret={secret}", "--realm", REALM,
        "--no-tls", "--no-dtls", "--no-cli", "--fingerprint",
        "--userdb", str(folder / "turndb"), "--pidfile", str(folder / "turnserver.pid"),
        "--log-file", str(folder / "turnserver.log"), "--simple-log", "--no-stdout-log",
        *options,
    ]
    # fmt: on


@contextmanager
def running_turnserver(
    folder: Path, *, options: Sequence[str] = (), startup_timeout_s: float = 10.0
) -> Iterator[TurnServer]:
    """Start ``turnserver`` on 127.0.0.1 and wait until it answers a STUN binding request.

    ``options`` are more ``turnserver`` command-line options, e.g. ``["--max-allocate-lifetime=3"]``.
    """
    if shutil.which(TURNSERVER) is None:
        pytest.fail(f"no turnserver at {TURNSERVER}: install Debian's 'coturn' package")
    folder.mkdir(parents=True, exist_ok=True)
    port, secret, log_file = _free_udp_port(), secrets.token_urlsafe(32), folder / "turnserver.log"
    command = turnserver_argv(
        ip="127.0.0.1", port=port, secret=secret, folder=folder,
        options=["--allow-loopback-peers", "--verbose", *options],
    )  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    server = TurnServer(port=port, secret=secret, log_file=log_file, process=process)
    try:
        deadline = time.monotonic() + startup_timeout_s
        while not _answers_stun(port, 0.1):  # each probe waits up to 0.1 s for the answer
            assert process.poll() is None, f"turnserver exited with {process.returncode}: {server.log()}"
            assert time.monotonic() < deadline, f"turnserver did not answer in {startup_timeout_s} s"
        yield server
    finally:
        server.stop()
