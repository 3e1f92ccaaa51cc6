"""The lab's namespaces, links and addresses: what exists in the kernel, how it is made and removed.

::

    root ── srv ──┬── a ──┐
    (tests)       └── b ──┤        a ↔ r ↔ b: the only a-b path; r holds the impairer
                           r ──────┘

``srv`` (the duet server) has a link to ``root`` (the test process, which calls the REST API),
to ``a`` and to ``b``; IP forwarding is off there, so ``srv`` never carries a↔b traffic.
``a`` and ``b`` share one Ethernet segment that runs through the userspace impairer in ``r``
(no IP there). No namespace has a default route: ``a``'s only routes are its two links and
``srv_ip``, so ICE can pair nothing but the two media addresses. IPv6 is off everywhere, and
the a↔b neighbour entries are static, so only the participants' own traffic crosses the
impairer (no ARP or router solicitations to be lost).

All addresses are in the benchmarking range 198.18.0.0/15 (RFC 2544). Inside the lab they are
fixed; only the root link gets a random /30 in 198.19.0.0/16, since the root namespace is
shared with other labs.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import json
import os
import random
import re
import secrets
import shutil
import signal
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from netlab import netns

__all__ = [
    "A_MEDIA_IP",
    "B_MEDIA_IP",
    "LAB_PREFIX",
    "SRV_LINK_IPS",
    "LabUnavailable",
    "Node",
    "Participant",
    "Topology",
    "remove_stale_labs",
]

Node = Literal["root", "srv", "a", "b", "r"]
"""A place in the lab; ``root`` is the namespace the test process runs in."""
Participant = Literal["a", "b"]
"""The two ends of the impaired link."""

LAB_PREFIX = "duetlab-"
"""Every namespace and root-side device a lab makes starts with this."""

A_MEDIA_IP, B_MEDIA_IP = "198.18.0.1", "198.18.0.2"
"""The participants' addresses on the impaired link (/24)."""
SRV_LINK_IPS: Mapping[Participant, tuple[str, str]] = {
    "a": ("198.18.1.1", "198.18.1.2"),
    "b": ("198.18.2.1", "198.18.2.2"),
}
"""(srv side, participant side) of each participant's unimpaired link to the server (/24)."""
_MEDIA_MACS: Mapping[Participant, str] = {"a": "02:00:c6:12:00:01", "b": "02:00:c6:12:00:02"}  # local admin.
_ROOT_LINK_POOL = ipaddress.IPv4Network("198.19.0.0/16")
_NAME = re.compile(rf"^{LAB_PREFIX}(?P<id>[0-9a-f]{{6}})-(?P<pid>\d+)-")  # then the node, or mkdtemp's suffix


class LabUnavailable(RuntimeError):
    """Namespaces cannot be made here (not root, no CAP_NET_ADMIN, no iproute2); tests skip on it."""


@dataclass(frozen=True)
class Topology:
    """Names and addresses of one lab; :meth:`build` makes it in the kernel, :meth:`destroy` removes it."""

    lab_id: str
    """Six hex digits, unique among the labs on this machine."""
    owner_pid: int
    """The process that made the lab; while it lives, no other lab's sweep removes this one."""
    root_link: ipaddress.IPv4Network
    """The /30 between ``root`` and ``srv``."""

    @classmethod
    async def allocate(cls) -> Topology:
        """A fresh id and a /30 no route in the root namespace overlaps (nothing is created yet)."""
        return cls(secrets.token_hex(3), os.getpid(), await _free_root_link())

    @property
    def namespaces(self) -> dict[Node, str]:
        """``duetlab-<id>-<pid>-<node>`` for each node but ``root``."""
        return {node: f"{self.prefix}{node}" for node in ("srv", "a", "b", "r")}

    @property
    def prefix(self) -> str:
        """What every name of this lab (namespaces, work folder) starts with."""
        return f"{LAB_PREFIX}{self.lab_id}-{self.owner_pid}-"

    @property
    def root_device(self) -> str:
        """The root namespace's end of the link to ``srv`` (14 characters: device names have at most 15)."""
        return f"{LAB_PREFIX}{self.lab_id}"

    @property
    def root_ip(self) -> str:
        """The root namespace's address on its link to ``srv``."""
        return str(self.root_link[1])

    @property
    def srv_ip(self) -> str:
        """The server's address, reachable from ``root``, ``a`` and ``b``."""
        return str(self.root_link[2])

    def netns(self, node: Node) -> str | None:
        """The namespace name of ``node`` (``None`` for ``root``), for ``ip netns exec``."""
        return None if node == "root" else self.namespaces[node]

    async def build(self) -> None:
        """Create the namespaces, links, addresses and routes (about 0.1 s); raises :class:`LabUnavailable`
        when namespaces cannot be made here. After a failure, :meth:`destroy` removes what was made."""
        ns = self.namespaces
        try:
            await netns.ip("netns", "add", ns["srv"])
        except netns.NamespaceError as error:
            raise LabUnavailable(
                f"cannot create network namespaces (needs root: CAP_SYS_ADMIN, CAP_NET_ADMIN): {error}"
            ) from error
        await netns.ip_batch([f"netns add {name}" for node, name in ns.items() if node != "srv"])
        for name in ns.values():
            netns.write_sysctl(name, "net.ipv6.conf.default.disable_ipv6", "1")
            netns.write_sysctl(name, "net.ipv6.conf.all.disable_ipv6", "1")
            # A new namespace copies ip_forward from the root one (net.core.devconf_inherit_init_net=0),
            # so it is set explicitly: srv must never route between a and b.
            netns.write_sysctl(name, "net.ipv4.ip_forward", "0")
        await netns.ip_batch(
            [
                *(
                    f"link add to-r address {mac} netns {ns[p]} type veth peer name to-{p} netns {ns['r']}"
                    for p, mac in _MEDIA_MACS.items()
                ),
                f"link add to-srv netns {ns['a']} type veth peer name to-a netns {ns['srv']}",
                f"link add to-srv netns {ns['b']} type veth peer name to-b netns {ns['srv']}",
                f"link add {self.root_device} type veth peer name to-root netns {ns['srv']}",
                f"addr add {self.root_ip}/{self.root_link.prefixlen} dev {self.root_device}",
                f"link set {self.root_device} up",
            ]
        )
        pairs: tuple[tuple[Participant, Participant], ...] = (("a", "b"), ("b", "a"))
        for node, other in pairs:
            srv_side, own = SRV_LINK_IPS[node]
            await netns.ip_batch(
                [
                    f"addr add {A_MEDIA_IP if node == 'a' else B_MEDIA_IP}/24 dev to-r",
                    f"addr add {own}/24 dev to-srv",
                    "link set lo up",
                    "link set to-r up",
                    "link set to-srv up",
                    f"route add {self.srv_ip}/32 via {srv_side}",
                    f"neigh replace {B_MEDIA_IP if other == 'b' else A_MEDIA_IP} lladdr {_MEDIA_MACS[other]} "
                    "dev to-r nud permanent",
                ],
                netns=ns[node],
            )
        await netns.ip_batch(
            [
                f"addr add {SRV_LINK_IPS['a'][0]}/24 dev to-a",
                f"addr add {SRV_LINK_IPS['b'][0]}/24 dev to-b",
                f"addr add {self.srv_ip}/{self.root_link.prefixlen} dev to-root",
                *(f"link set {dev} up" for dev in ("lo", "to-a", "to-b", "to-root")),
            ],
            netns=ns["srv"],
        )
        await netns.ip_batch([f"link set {dev} up" for dev in ("lo", "to-a", "to-b")], netns=ns["r"])
        devices: dict[Node, list[str]] = {
            "a": ["to-r", "to-srv"],
            "b": ["to-r", "to-srv"],
            "r": ["to-a", "to-b"],
            "srv": ["to-a", "to-b", "to-root"],
            "root": [self.root_device],
        }
        for place, names in devices.items():
            netns.disable_offloads(self.netns(place), names)

    async def destroy(self) -> None:
        """Kill what still runs inside, delete the namespaces (their veths go with them). Idempotent."""
        existing = set(netns.list_namespaces())
        await _delete_namespaces([name for name in self.namespaces.values() if name in existing])
        await netns.ip("link", "del", self.root_device, check=False)  # normally gone with srv


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


async def _delete_namespaces(names: Sequence[str]) -> None:
    for name in names:  # anything still inside keeps a namespace (and its veths) alive
        for pid in netns.namespace_pids(name):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
    for name in names:
        await netns.ip("netns", "del", name, check=False)


async def remove_stale_labs() -> list[str]:
    """Delete what labs whose creating process is gone left behind: namespaces (and the processes in
    them) and work folders.

    A lab's namespaces are named ``duetlab-<id>-<pid>-<node>`` and its folder ``duetlab-<id>-<pid>-…``
    in the temporary directory; a live ``pid`` keeps them, so labs of test runs going on at the same
    time are left alone. Returns the names removed.
    """

    namespaces = [name for name in netns.list_namespaces() if _stale(name)]
    await _delete_namespaces(namespaces)
    return namespaces + await asyncio.to_thread(_remove_stale_folders)


def _stale(name: str) -> bool:
    match = _NAME.match(name)
    return match is not None and not _alive(int(match["pid"]))


def _remove_stale_folders() -> list[str]:
    folders = [path for path in Path(tempfile.gettempdir()).glob(f"{LAB_PREFIX}*") if _stale(path.name)]
    for folder in folders:
        shutil.rmtree(folder, ignore_errors=True)
    return [folder.name for folder in folders]


async def _free_root_link() -> ipaddress.IPv4Network:
    """A random /30 of 198.19.0.0/16 that no route in the root namespace overlaps."""
    routes = json.loads(await netns.ip("-j", "-4", "route", "show", "table", "all") or "[]")
    used = [ipaddress.IPv4Network(r["dst"], strict=False) for r in routes if r.get("dst", "")[:1].isdigit()]
    candidates = list(_ROOT_LINK_POOL.subnets(new_prefix=30))
    for subnet in random.sample(candidates, 64):
        if not any(subnet.overlaps(u) for u in used):
            return subnet
    raise LabUnavailable(f"no free /30 left in {_ROOT_LINK_POOL} in the root namespace")
