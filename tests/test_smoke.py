"""``make smoke`` as part of ``make test``: the built wheel, installed alone in a fresh virtualenv,
serves a real call between two ``duet join`` processes (scripts/smoke.py says every step).

It needs PyPI (the fresh virtualenv installs duet's dependencies from it) and takes ~30 s here with
a warm pip cache, most of it the install.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "smoke.py"
TIMEOUT_S = 280


@pytest.mark.timeout(TIMEOUT_S + 20)
def test_the_wheel_alone_serves_a_call(tmp_path: Path) -> None:
    process = subprocess.Popen(
        [sys.executable, str(SCRIPT), "--workdir", str(tmp_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        out, _ = process.communicate(timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired:
        process.terminate()  # the script stops its server and participants on SIGTERM
        try:
            out, _ = process.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            out, _ = process.communicate()
        pytest.fail(f"scripts/smoke.py did not finish within {TIMEOUT_S} s:\n{out}")
    assert process.returncode == 0, out
    assert "smoke: passed" in out, out
    assert "host: connected" in out and "guest: connected" in out, out
