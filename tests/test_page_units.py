"""The page's pure modules, tested by Node's own runner (``node --test web/js/tests``)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from conftest import unavailable

WEB_TESTS = Path(__file__).resolve().parent.parent / "web" / "js" / "tests"


def test_the_pages_pure_modules() -> None:
    node = shutil.which("node") or shutil.which("nodejs")
    if node is None:
        unavailable("Node is not installed (Debian: nodejs)")
    run = subprocess.run([node, "--test", str(WEB_TESTS)], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    assert "# fail 0" in run.stdout
