"""Dependencies point one way: app → signaling, media; signaling never imports app; media only messages."""

from __future__ import annotations

from pathlib import Path

import pytest
from source_imports import imported_modules

ROOT = Path(__file__).parent.parent

# media/ may use the protocol's data definitions (one leaf module, pure pydantic) so the headless
# participant speaks exactly what the server parses; it must not reach the room rules or the app.
ALLOWED = {
    "signaling": {"signaling"},
    "media": {"media", "signaling.messages", "signaling.stats"},
}
OURS = {"app", "signaling", "media", "web"}


def _imports(path: Path) -> set[str]:
    return {name for name in imported_modules(path) if name.split(".")[0] in OURS}


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_package_imports_point_one_way(package: str) -> None:
    allowed = ALLOWED[package]
    offenders = {
        f"{path.relative_to(ROOT)} imports {name}"
        for path in (ROOT / package).rglob("*.py")
        for name in _imports(path)
        if not any(name == ok or name.startswith(ok + ".") for ok in allowed)
    }
    assert not offenders, sorted(offenders)


def test_the_checker_sees_imports(tmp_path: Path) -> None:
    sample = tmp_path / "x.py"
    sample.write_text(
        "import app.crud\nfrom signaling.room import Room\nfrom . import sibling\nimport json\n"
    )
    assert _imports(sample) == {"app.crud", "signaling.room"}
