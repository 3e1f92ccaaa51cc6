"""The lab as tests use it: build and tear down, run processes and sockets inside, impair the link.

See :mod:`netlab.topology` for the namespaces and addresses, :mod:`netlab.impairer` for the element.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple

from netlab import netns
from netlab.control import ImpairerControl
from netlab.impairment import Change, Direction, Impairment, LinkStats, parse_directions
from netlab.topology import (
    A_MEDIA_IP,
    B_MEDIA_IP,
    SRV_LINK_IPS,
    LabUnavailable,
    Node,
    Participant,
    Topology,
    remove_stale_labs,
)

__all__ = ["Lab", "Step"]

_PROXY_VARIABLES = {"http_proxy", "https_proxy", "all_proxy", "no_proxy", "ws_proxy", "wss_proxy"}
_PACKAGE_PARENT = Path(__file__).resolve().parent.parent  # on PYTHONPATH, for ``python -m netlab.impairer``
_TERMINATE_GRACE_S = 3.0
_COMMAND_TIMEOUT_S = 5.0


class Step(NamedTuple):
    """One entry of a schedule: ``impairment`` on ``direction`` from ``after_s`` seconds after the start."""

    after_s: float
    direction: str | Direction
    """``"a->b"``, ``"b->a"`` or ``"both"``."""
    impairment: Impairment


class Lab:
    """One running lab. Make it with ``async with Lab.create() as lab:``; everything is gone afterwards."""

    def __init__(self, topology: Topology, workdir: Path) -> None:
        self.topology = topology
        self.workdir = workdir
        """A folder of the lab's own (server data, logs), deleted on close."""
        self._control: ImpairerControl | None = None
        self._processes: list[asyncio.subprocess.Process] = []

    @classmethod
    @contextlib.asynccontextmanager
    async def create(cls) -> AsyncIterator[Lab]:
        """Build a lab (about 0.15 s), yield it, and tear it down however the block ends (about 0.05 s).

        Also removes what labs of dead processes left behind. Raises :class:`LabUnavailable`
        when this machine cannot make namespaces.
        """
        if shutil.which("ip") is None:
            raise LabUnavailable("the 'ip' command is missing (Debian package iproute2)")
        if os.geteuid() != 0:
            raise LabUnavailable("network namespaces need root (CAP_NET_ADMIN and CAP_SYS_ADMIN)")
        await remove_stale_labs()
        topology = await Topology.allocate()
        lab = cls(topology, Path(tempfile.mkdtemp(prefix=topology.prefix)))
        try:
            await topology.build()
            await lab._start_impairer()
            await lab._check_paths()
            yield lab
        finally:
            await lab.close()

    # -- addresses and places -------------------------------------------------------------------

    @property
    def id(self) -> str:
        """Six hex digits, unique among the labs on this machine."""
        return self.topology.lab_id

    @property
    def srv_ip(self) -> str:
        """The server's address, reachable from ``root``, ``a`` and ``b`` (never impaired)."""
        return self.topology.srv_ip

    @property
    def namespaces(self) -> dict[Node, str]:
        """Namespace name of each node but ``root``."""
        return self.topology.namespaces

    def netns(self, node: Node) -> str | None:
        """The namespace name of ``node`` (``None`` for ``root``), for ``ip netns exec``."""
        return self.topology.netns(node)

    @staticmethod
    def media_ip(node: Participant) -> str:
        """The participant's address on the impaired link: what its ICE candidates carry."""
        return A_MEDIA_IP if node == "a" else B_MEDIA_IP

    @staticmethod
    def srv_link_ip(node: Participant) -> str:
        """The participant's address on its link to the server (not reachable from the other side)."""
        return SRV_LINK_IPS[node][1]

    # -- processes and sockets ------------------------------------------------------------------

    def socket(
        self, node: Node, family: int = socket.AF_INET, kind: int = socket.SOCK_DGRAM, proto: int = 0
    ) -> socket.socket:
        """A socket living in ``node``, for the test's own event loop (the caller closes it)."""
        return netns.socket_in(self.netns(node), family, kind, proto)

    def _command(self, node: Node, argv: Sequence[str]) -> list[str]:
        name = self.netns(node)
        return list(argv) if name is None else ["ip", "netns", "exec", name, *argv]

    @staticmethod
    def _environment(env: Mapping[str, str] | None) -> dict[str, str]:
        # No proxy is reachable from the lab: a proxy variable would only make direct connections fail.
        base = {k: v for k, v in os.environ.items() if k.lower() not in _PROXY_VARIABLES}
        return {**base, **(env or {})}

    async def spawn(
        self,
        node: Node,
        argv: Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        cwd: Path | str | None = None,
        stdin: int | None = asyncio.subprocess.DEVNULL,
        stdout: int | None = asyncio.subprocess.PIPE,
        stderr: int | None = asyncio.subprocess.PIPE,
    ) -> asyncio.subprocess.Process:
        """Start ``argv`` inside ``node``; it is terminated when the lab closes if still running.

        ``env`` is added to this process's environment, minus proxy variables.
        """
        process = await asyncio.create_subprocess_exec(
            *self._command(node, argv),
            env=self._environment(env),
            cwd=cwd,
            stdin=stdin,
            stdout=stdout,
            stderr=stderr,
        )
        self._processes.append(process)
        return process

    async def run(
        self,
        node: Node,
        argv: Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        cwd: Path | str | None = None,
        timeout_s: float = 60.0,
    ) -> subprocess.CompletedProcess[bytes]:
        """Run ``argv`` inside ``node`` to completion (killed after ``timeout_s``); output captured."""
        process = await self.spawn(node, argv, env=env, cwd=cwd)
        try:
            out, err = await asyncio.wait_for(process.communicate(), timeout_s)
        except TimeoutError:
            await _terminate(process)
            raise
        assert process.returncode is not None
        return subprocess.CompletedProcess(list(argv), process.returncode, out, err)

    # -- impairment -----------------------------------------------------------------------------

    @property
    def changes(self) -> list[Change]:
        """Every applied change as ``(monotonic time, direction, impairment)``, in order."""
        return list(self._control.changes) if self._control else []

    async def impair(
        self, direction: str | Direction = "both", impairment: Impairment | None = None, **fields: Any
    ) -> list[Change]:
        """Set ``direction``'s complete impairment, now: ``impair("a->b", loss=0.2, delay_ms=100)``.

        Fields not given are clean (this replaces, it does not add). Returns the logged changes,
        whose ``at`` is when the element applied them.
        """
        if impairment is None:
            impairment = Impairment(**fields)
        elif fields:
            raise TypeError("give an Impairment or its fields, not both")
        return await self._require_control().set(
            parse_directions(direction), impairment, at=None, timeout_s=_COMMAND_TIMEOUT_S
        )

    async def clear(self) -> list[Change]:
        """Both directions back to a clean link."""
        return await self.impair("both", Impairment())

    async def schedule(self, steps: Sequence[Step], *, start: float | None = None) -> list[Change]:
        """Hand a whole schedule to the element, timed from ``start`` (monotonic; default now), and
        return its changes once the last has been applied.

        The element keeps the time itself, so run this as a task to do other things meanwhile.
        """
        control = self._require_control()
        start = time.monotonic() if start is None else start
        last = max((step.after_s for step in steps), default=0.0)
        timeout_s = max(0.0, start + last - time.monotonic()) + _COMMAND_TIMEOUT_S
        results = await asyncio.gather(
            *(
                control.set(
                    parse_directions(s.direction), s.impairment, at=start + s.after_s, timeout_s=timeout_s
                )
                for s in steps
            )
        )
        return sorted((change for changes in results for change in changes), key=lambda c: c.at)

    async def stats(self) -> dict[Direction, LinkStats]:
        """The element's frame counters per direction."""
        return await self._require_control().stats(_COMMAND_TIMEOUT_S)

    def _require_control(self) -> ImpairerControl:
        if self._control is None:
            raise RuntimeError("the lab's impairer is not running (lab not built, or closed)")
        return self._control

    # -- starting and tearing down --------------------------------------------------------------

    async def _start_impairer(self) -> None:
        stderr_path = self.workdir / "impairer.log"
        with stderr_path.open("wb") as stderr:
            process = await self.spawn(
                "r",
                [sys.executable, "-u", "-m", "netlab.impairer", "--a-port", "to-a", "--b-port", "to-b"],
                env={"PYTHONPATH": str(_PACKAGE_PARENT)},
                stdin=asyncio.subprocess.PIPE,
                stderr=stderr.fileno(),
            )
        self._control = ImpairerControl(process, stderr_path)
        await self._control.wait_ready(timeout_s=10)

    async def _check_paths(self) -> None:
        from netlab.probes import ping  # probes needs a Lab: imported late to keep the import graph one-way

        paths: list[tuple[Node, str]] = [
            ("a", B_MEDIA_IP),
            ("b", A_MEDIA_IP),
            ("root", self.srv_ip),
            ("a", self.srv_ip),
            ("b", self.srv_ip),
        ]
        results = await asyncio.gather(*(ping(self, src, dst, count=1, timeout_s=2.0) for src, dst in paths))
        broken = [
            f"{src} -> {dst}" for (src, dst), rtts in zip(paths, results, strict=True) if rtts[0] is None
        ]
        if broken:
            raise RuntimeError(f"lab {self.id}: no ping answer on {', '.join(broken)}")

    async def close(self) -> None:
        """Stop every process started in the lab, delete its namespaces, devices and folder. Idempotent."""
        if self._control is not None:
            await self._control.close(timeout_s=2.0)
            self._control = None
        await asyncio.gather(*(_terminate(p) for p in self._processes))
        self._processes.clear()
        await self.topology.destroy()
        await asyncio.to_thread(shutil.rmtree, self.workdir, True)

    def describe(self) -> dict[str, Any]:
        """Names and addresses, for logs and reports."""
        return {
            "id": self.id,
            "namespaces": dict(self.namespaces),
            "srv_ip": self.srv_ip,
            "root_ip": self.topology.root_ip,
            "media_ips": {"a": A_MEDIA_IP, "b": B_MEDIA_IP},
        }

    def __repr__(self) -> str:
        return f"Lab({json.dumps(self.describe())})"


async def _terminate(process: asyncio.subprocess.Process) -> None:
    if process.returncode is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        process.terminate()
    try:
        await asyncio.wait_for(process.wait(), _TERMINATE_GRACE_S)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        await process.wait()
