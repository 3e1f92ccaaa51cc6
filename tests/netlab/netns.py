"""Linux network-namespace primitives: run ``ip``, make sockets inside a namespace, sysctls, offloads.

Everything here needs root (CAP_NET_ADMIN and CAP_SYS_ADMIN). A socket made inside a
namespace stays there for its whole life, whichever thread later uses it, so the
test process can talk from ``a`` to ``b`` without a subprocess: :func:`socket_in`
switches one short-lived thread into the namespace (``setns`` is per thread), makes
the socket and lets the thread end.
"""

from __future__ import annotations

import asyncio
import ctypes
import fcntl
import os
import shutil
import socket
import struct
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

__all__ = [
    "NETNS_DIR",
    "NamespaceError",
    "disable_offloads",
    "ip",
    "ip_batch",
    "list_namespaces",
    "namespace_pids",
    "offloads",
    "socket_in",
    "write_sysctl",
]

NETNS_DIR = Path("/run/netns")
"""Where ``ip netns add`` keeps its named namespaces (one bind-mounted file each)."""

_CLONE_NEWNET = 0x40000000  # <linux/sched.h>
_SIOCETHTOOL = 0x8946  # <linux/sockios.h>
# Legacy ethtool get/set commands (<linux/ethtool.h>); the kernel maps them onto feature flags.
_OFFLOADS = {  # name: (get, set)
    "tso": (0x1E, 0x1F),
    "gso": (0x23, 0x24),
    "gro": (0x2B, 0x2C),
    "tx": (0x16, 0x17),  # tx checksumming; last, since TSO depends on it
}

_T = TypeVar("_T")


class NamespaceError(RuntimeError):
    """An ``ip`` command or a namespace operation failed; the message carries the command and its stderr."""


def _libc_setns() -> Callable[[int, int], int]:
    libc = ctypes.CDLL(None, use_errno=True)
    setns: Callable[[int, int], int] = libc.setns
    return setns


def _checked_setns(fd: int) -> None:
    if _libc_setns()(fd, _CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"setns(CLONE_NEWNET) failed: {os.strerror(err)}")


def _inside(netns: str | None, work: Callable[[], _T]) -> _T:
    """Run ``work`` in a fresh thread that has entered ``netns`` (``None``: this namespace)."""
    if netns is None:
        return work()
    box: dict[str, object] = {}

    def run() -> None:
        try:
            own = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
            target = os.open(NETNS_DIR / netns, os.O_RDONLY)
            try:
                _checked_setns(target)
                try:
                    box["value"] = work()
                finally:
                    _checked_setns(own)  # the thread ends anyway; this keeps it tidy
            finally:
                os.close(target)
                os.close(own)
        except BaseException as error:  # handed to the caller's thread
            box["error"] = error

    thread = threading.Thread(target=run, name=f"netns-{netns}")
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]  # type: ignore[misc]
    return box["value"]  # type: ignore[return-value]


def socket_in(
    netns: str | None, family: int = socket.AF_INET, kind: int = socket.SOCK_DGRAM, proto: int = 0
) -> socket.socket:
    """A new socket living in namespace ``netns`` (``None``: the caller's own namespace)."""
    return _inside(netns, lambda: socket.socket(family, kind, proto))


def write_sysctl(netns: str, key: str, value: str) -> None:
    """Set a ``net.*`` sysctl (``"net.ipv4.ip_forward"``) inside ``netns``.

    ``/proc/sys/net`` shows the namespace of the thread that opens it, so this needs no ``sysctl``
    binary and no subprocess.
    """
    if not key.startswith("net."):
        raise ValueError(f"only per-namespace 'net.*' sysctls can be set here (got {key!r})")
    path = Path("/proc/sys", *key.split("."))
    _inside(netns, lambda: path.write_text(value))


def _ethtool_value(sock: socket.socket, device: str, command: int, data: int) -> int:
    value = ctypes.create_string_buffer(struct.pack("II", command, data))
    request = struct.pack("16sP", device.encode(), ctypes.addressof(value)).ljust(40, b"\0")  # struct ifreq
    fcntl.ioctl(sock.fileno(), _SIOCETHTOOL, request)
    result: int = struct.unpack("II", value.raw[:8])[1]
    return result


def disable_offloads(netns: str | None, devices: Sequence[str]) -> None:
    """``ethtool -K DEV tx off tso off gso off gro off`` for each device, through the ioctl itself.

    Frames that cross a userspace forwarder must be complete on the wire: with tx
    checksumming on, the sender leaves checksums for a "device" that never computes
    them and the receiver drops every TCP/UDP segment; with TSO/GSO/GRO on, 64 KiB
    super-frames appear that no packet socket can send on. ping still works then,
    which hides the problem.
    """
    sock = socket_in(netns)
    try:
        for device in devices:
            for _get, set_ in _OFFLOADS.values():
                _ethtool_value(sock, device, set_, 0)
    finally:
        sock.close()


def offloads(netns: str | None, device: str) -> dict[str, bool]:
    """The offloads :func:`disable_offloads` turns off, as ``ethtool -k`` would report them."""
    sock = socket_in(netns)
    try:
        return {name: bool(_ethtool_value(sock, device, get, 0)) for name, (get, _set) in _OFFLOADS.items()}
    finally:
        sock.close()


async def ip(*args: str, netns: str | None = None, check: bool = True) -> str:
    """Run ``ip [-n NETNS] ARGS…`` and return its stdout; raise :class:`NamespaceError` on failure."""
    return await _run_ip(["-n", netns, *args] if netns else list(args), None, check)


async def ip_batch(commands: Sequence[str], netns: str | None = None) -> None:
    """Run many ``ip`` commands (one per item, without the leading ``ip``) in one process."""
    if commands:
        await _run_ip([*(["-n", netns] if netns else []), "-batch", "-"], "\n".join(commands) + "\n", True)


async def _run_ip(args: list[str], stdin: str | None, check: bool) -> str:
    binary = shutil.which("ip")
    if binary is None:
        raise NamespaceError("the 'ip' command (Debian package iproute2) is not installed")
    process = await asyncio.create_subprocess_exec(
        binary,
        *args,
        stdin=asyncio.subprocess.PIPE if stdin is not None else asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(stdin.encode() if stdin else None), 20)
    if check and process.returncode != 0:
        shown = " ".join(args) + (f" <<< {stdin.strip()!r}" if stdin else "")
        raise NamespaceError(f"'ip {shown}' failed ({process.returncode}): {err.decode().strip()}")
    return out.decode()


def list_namespaces() -> list[str]:
    """Names of the namespaces ``ip netns`` knows (the files under ``/run/netns``)."""
    try:
        return sorted(entry.name for entry in NETNS_DIR.iterdir())
    except FileNotFoundError:
        return []


def namespace_pids(netns: str) -> list[int]:
    """Processes whose network namespace is ``netns`` (what ``ip netns pids`` prints)."""
    try:
        target = os.stat(NETNS_DIR / netns)
    except FileNotFoundError:
        return []
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ns = os.stat(entry / "ns" / "net")
        except OSError:  # gone meanwhile, or a kernel thread
            continue
        if (ns.st_dev, ns.st_ino) == (target.st_dev, target.st_ino):
            pids.append(int(entry.name))
    return pids
