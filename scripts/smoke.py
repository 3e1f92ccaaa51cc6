"""``make smoke``: duet's wheel, installed alone in a fresh virtualenv, serves a real call.

What a user gets from ``pip install duet-video`` (no extras, nothing else in the environment) must
run: a dependency the test environment happens to bring along (greenlet, httpx) is missed by every
other test. Steps, each bounded and printed:

1. build the sdist and the wheel from this checkout (``python -m build``, the Dockerfile's command);
2. make a fresh virtualenv and install the wheel there, exactly as the Dockerfile does
   (:func:`install_command`; ``tests/test_packaging.py`` keeps the two lines equal);
3. import every module of the installed packages from that virtualenv;
4. ``duet apikey create``, then ``duet serve`` (development, SQLite in a temporary folder, a free
   loopback port) until ``/healthz`` answers;
5. create a room through the REST API, join it with two ``duet join URL --json`` processes and check
   that both connected and received video and audio, and that the room logged both joins.

Standard library only: it runs with any Python 3.11 that has ``build`` (``make smoke`` uses
``.venv``). Every process it starts is stopped when it ends, on failure and on SIGTERM too.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

__all__ = ["SmokeFailure", "build_command", "install_command", "main"]

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("app", "signaling", "media", "web")
BUILD_TIMEOUT_S = 300.0
INSTALL_TIMEOUT_S = 900.0
"""A cold install downloads aiortc, av, numpy and the rest (~14 s here with a warm pip cache)."""
START_TIMEOUT_S = 60.0
JOIN_DURATION_S = 6.0
"""Seconds each ``duet join`` stays in the call; two aiortc peers connect in well under a second."""
JOIN_TIMEOUT_S = JOIN_DURATION_S + 60.0

# Imports every module of the installed packages except the Alembic environment (it runs a migration
# when imported); prints where ``app`` was found, so a source checkout cannot stand in for the wheel.
_IMPORT_ALL = f"""
import importlib, pkgutil
names = []
for top in {PACKAGES!r}:
    package = importlib.import_module(top)
    names.append(top)
    for module in pkgutil.walk_packages(package.__path__, top + "."):
        if not module.name.startswith("app.migrations"):
            importlib.import_module(module.name)
            names.append(module.name)
print(importlib.import_module("app").__file__)
print(len(names))
"""


class SmokeFailure(Exception):
    """A step of the smoke test did not do what it should; the message says which and why."""


def build_command(python: str, outdir: str, source: str) -> list[str]:
    """The build line: an sdist, and the wheel built from it, into ``outdir``."""
    return [python, "-m", "build", "--outdir", outdir, source]


def install_command(python: str, wheel: str) -> list[str]:
    """The install line: the wheel alone, no extras, with pip resolving every dependency.

    The Dockerfile runs the same command (``tests/test_packaging.py``), so what passes here is what
    the image gets.
    """
    return [python, "-m", "pip", "install", wheel]


def _step(title: str) -> float:
    print(f"smoke: {title}", flush=True)
    return time.monotonic()


def _done(started: float, detail: str = "") -> None:
    print(f"smoke:   ok{', ' + detail if detail else ''} ({time.monotonic() - started:.1f} s)", flush=True)


def _run(argv: Sequence[str], *, timeout_s: float, cwd: Path, env: dict[str, str] | None = None) -> str:
    """Run ``argv`` to completion within ``timeout_s``: its stdout; :class:`SmokeFailure` otherwise."""
    try:
        done = subprocess.run(
            argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout_s, check=False
        )
    except subprocess.TimeoutExpired as error:
        raise SmokeFailure(f"{' '.join(argv)} did not finish within {timeout_s:g} s") from error
    if done.returncode != 0:
        raise SmokeFailure(
            f"{' '.join(argv)} exited {done.returncode}:\n{done.stdout[-4000:]}{done.stderr[-4000:]}"
        )
    return done.stdout


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def _request(url: str, *, key: str = "", body: dict[str, Any] | None = None, timeout_s: float = 10) -> Any:
    """One HTTP request to the local server (never through a proxy): its JSON answer."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method="POST" if data is not None else "GET")
    if key:
        request.add_header("Authorization", f"Bearer {key}")
    if data is not None:
        request.add_header("Content-Type", "application/json")
    with _NO_PROXY.open(request, timeout=timeout_s) as response:
        return json.loads(response.read() or b"null")


@contextmanager
def _running(
    argv: Sequence[str], *, cwd: Path, env: dict[str, str], log: Path
) -> Iterator[subprocess.Popen[str]]:
    """A child process with its output in ``log``; stopped (SIGTERM, then SIGKILL) on the way out."""
    with log.open("w") as out:
        process = subprocess.Popen(argv, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT, text=True)
        try:
            yield process
        finally:
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(10)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(10)


def _wait_healthy(base: str, server: subprocess.Popen[str], log: Path) -> None:
    """Poll ``/healthz`` until it answers, the server exits, or :data:`START_TIMEOUT_S` passes."""
    deadline = time.monotonic() + START_TIMEOUT_S
    while True:
        if server.poll() is not None:
            raise SmokeFailure(f"duet serve exited {server.returncode} before answering:\n{log.read_text()}")
        try:
            _request(f"{base}/healthz", timeout_s=2)
            return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        if time.monotonic() > deadline:
            raise SmokeFailure(f"/healthz did not answer within {START_TIMEOUT_S:g} s:\n{log.read_text()}")
        time.sleep(0.1)


def _join_both(duet: str, urls: dict[str, str], *, cwd: Path, env: dict[str, str]) -> dict[str, Any]:
    """Both people join at once with ``duet join --json``; their reports, by role."""
    argv = {
        role: [duet, "join", url, "--duration", f"{JOIN_DURATION_S:g}", "--json"]
        for role, url in urls.items()
    }
    logs = {role: cwd / f"join-{role}.log" for role in urls}
    processes = {
        role: subprocess.Popen(
            argv[role], cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=logs[role].open("w"), text=True
        )
        for role in urls
    }
    reports: dict[str, Any] = {}
    try:
        deadline = time.monotonic() + JOIN_TIMEOUT_S
        for role, process in processes.items():
            try:
                out, _ = process.communicate(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired as error:
                raise SmokeFailure(
                    f"duet join ({role}) did not finish within {JOIN_TIMEOUT_S:g} s"
                ) from error
            try:
                reports[role] = json.loads(out)
            except json.JSONDecodeError as error:
                raise SmokeFailure(
                    f"duet join ({role}) printed no JSON report (exit {process.returncode}):\n"
                    f"{out}{logs[role].read_text()}"
                ) from error
            reports[role]["exit_code"] = process.returncode
    finally:
        for process in processes.values():
            if process.poll() is None:
                process.kill()
                process.wait(10)
    return reports


def _check_report(role: str, report: dict[str, Any]) -> str:
    """What one participant's report shows; :class:`SmokeFailure` unless it connected and got media."""
    video, audio = report.get("video_frames_received", 0), report.get("audio_frames_received", 0)
    connected = report.get("time_to_connected_s")
    if report["exit_code"] != 0 or connected is None or not video or not audio:
        raise SmokeFailure(f"duet join ({role}) did not get media:\n{json.dumps(report, indent=2)}")
    return f"{role}: connected after {connected:.2f} s, {video} video and {audio} audio frames"


def _serve_and_call(venv: Path, scratch: Path) -> None:
    """Steps 3-5, from ``scratch`` (not the checkout, whose packages would shadow the wheel's)."""
    bindir = venv / "bin"
    python, duet = str(bindir / "python"), str(bindir / "duet")

    started = _step("import every installed module from the fresh virtualenv")
    where, count = _run([python, "-c", _IMPORT_ALL], timeout_s=120, cwd=scratch).split()
    if not Path(where).is_relative_to(venv):
        raise SmokeFailure(f"app was imported from {where}, not from the virtualenv")
    _done(started, f"{count} modules, app from {Path(where).parent}")

    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DUET_", "PYTHON", "VIRTUAL_ENV"))}
    env.update(
        DUET_ENV="development",
        DUET_DATA_DIR=str(scratch / "data"),
        DUET_HOST="127.0.0.1",
        DUET_PORT=str(port),
        NO_PROXY="*",
        no_proxy="*",
        PATH=f"{bindir}{os.pathsep}{env.get('PATH', '')}",
    )
    started = _step("duet apikey create smoke")
    key = _run([duet, "apikey", "create", "smoke"], timeout_s=60, cwd=scratch, env=env).strip()
    _done(started)

    started = _step(f"duet serve on {base} (SQLite in {scratch / 'data'})")
    log = scratch / "serve.log"
    with _running([duet, "serve"], cwd=scratch, env=env, log=log) as server:
        _wait_healthy(base, server, log)
        _done(started, "/healthz answered")

        started = _step("POST /v1/rooms with the API key")
        room = _request(
            f"{base}/v1/rooms",
            key=key,
            body={"title": "smoke", "host": {"name": "Ana"}, "guest": {"name": "Ben"}},
        )
        _done(started, f"room {room['id']} ({room['state']})")

        started = _step(f"duet join host and guest for {JOIN_DURATION_S:g} s each")
        reports = _join_both(duet, room["join_urls"], cwd=scratch, env=env)
        details = [_check_report(role, report) for role, report in reports.items()]
        _done(started, "; ".join(details))

        started = _step("GET /v1/rooms/{id}/events")
        events = _request(f"{base}/v1/rooms/{room['id']}/events", key=key)
        joined = sorted(str(event["role"]) for event in events["items"] if event["type"] == "joined")
        if joined != ["guest", "host"]:
            raise SmokeFailure(f"the room logged joins of {joined}, not guest and host: {json.dumps(events)}")
        _done(started, f"joined: {', '.join(joined)}")
        if server.poll() is not None:
            raise SmokeFailure(f"duet serve exited {server.returncode} during the call:\n{log.read_text()}")


def smoke(workdir: Path, wheel: Path | None) -> None:
    """The whole run; :class:`SmokeFailure` at the first step that fails."""
    workdir.mkdir(parents=True, exist_ok=True)
    if wheel is None:
        dist = workdir / "dist"
        shutil.rmtree(dist, ignore_errors=True)
        started = _step(f"python -m build ({ROOT})")
        _run(build_command(sys.executable, str(dist), str(ROOT)), timeout_s=BUILD_TIMEOUT_S, cwd=ROOT)
        wheels = sorted(dist.glob("duet_video-*.whl"))
        if len(wheels) != 1:
            raise SmokeFailure(f"expected one wheel in {dist}, found {[w.name for w in wheels]}")
        wheel = wheels[0]
        _done(started, wheel.name)

    venv = workdir / "venv"
    started = _step(f"fresh virtualenv {venv}")
    _run([sys.executable, "-m", "venv", "--clear", str(venv)], timeout_s=120, cwd=workdir)
    _done(started)

    started = _step(f"pip install {wheel.name} (no extras)")
    _run(install_command(str(venv / "bin" / "python"), str(wheel)), timeout_s=INSTALL_TIMEOUT_S, cwd=workdir)
    _done(started)

    with tempfile.TemporaryDirectory(prefix="duet-smoke-") as scratch:
        _serve_and_call(venv, Path(scratch))


def _stop_on_sigterm(signum: int, frame: object) -> None:
    print("smoke: stopped by SIGTERM; stopping its processes", file=sys.stderr, flush=True)
    raise SystemExit(128 + signum)  # unwinds through the context managers: children are stopped


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument(
        "--workdir", type=Path, default=ROOT / ".smoke", help="where the wheel and the virtualenv go (.smoke)"
    )
    parser.add_argument("--wheel", type=Path, help="install this wheel instead of building one")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    started = time.monotonic()
    try:
        smoke(args.workdir.resolve(), args.wheel.resolve() if args.wheel else None)
    except SmokeFailure as failure:
        print(f"smoke: FAILED after {time.monotonic() - started:.1f} s: {failure}", file=sys.stderr)
        return 1
    print(f"smoke: passed in {time.monotonic() - started:.1f} s", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
