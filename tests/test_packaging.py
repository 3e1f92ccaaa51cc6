"""What a plain ``pip install`` of duet gets: every runtime import declared, and the Dockerfile
installing the wheel exactly as ``make smoke`` (scripts/smoke.py) does.

``tests/test_smoke.py`` proves the installed wheel runs; these are the quick checks that point at the
line to fix.
"""

from __future__ import annotations

import importlib.metadata
import re
import shlex
import sys
import tomllib
from pathlib import Path

import pytest
from source_imports import imported_modules

from scripts.smoke import PACKAGES, build_command, install_command

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def _normal(name: str) -> str:
    """A distribution name as PEP 503 compares them."""
    return re.sub(r"[-_.]+", "-", name).lower()


def _declared(requirements: list[str]) -> set[str]:
    return {_normal(re.split(r"[\s\[<>=!~;]", requirement, maxsplit=1)[0]) for requirement in requirements}


def _third_party_imports(path: Path) -> set[str]:
    """Top-level names of the non-stdlib, non-duet modules ``path`` imports (anywhere in it)."""
    tops = {name.split(".")[0] for name in imported_modules(path)}
    return {name for name in tops if name not in sys.stdlib_module_names and name not in PACKAGES}


def test_every_runtime_import_is_a_declared_dependency() -> None:
    distributions = importlib.metadata.packages_distributions()
    declared = _declared(PYPROJECT["project"]["dependencies"])
    undeclared = {
        f"{path.relative_to(ROOT)} imports {name} ({', '.join(distributions.get(name, ['not installed']))})"
        for package in PACKAGES
        for path in (ROOT / package).rglob("*.py")
        for name in _third_party_imports(path)
        if not {_normal(d) for d in distributions.get(name, [])} & declared
    }
    assert not undeclared, sorted(undeclared)


def test_the_checker_sees_third_party_imports(tmp_path: Path) -> None:
    sample = tmp_path / "x.py"
    sample.write_text(
        "import json\nimport httpx\nfrom app.crud import x\ndef f():\n    from greenlet import g\n"
    )
    assert _third_party_imports(sample) == {"httpx", "greenlet"}


def test_sqlalchemy_comes_with_its_asyncio_extra() -> None:
    """duet's engine is async: SQLAlchemy >= 2.1 needs greenlet for it but no longer installs it."""
    dependencies = PYPROJECT["project"]["dependencies"]
    assert any(re.match(r"sqlalchemy\[[^\]]*\basyncio\b", d, re.IGNORECASE) for d in dependencies)


@pytest.mark.parametrize("extra", ["test", "postgres"])
def test_test_only_packages_stay_out_of_the_runtime(extra: str) -> None:
    runtime = _declared(PYPROJECT["project"]["dependencies"])
    only_there = _declared(PYPROJECT["project"]["optional-dependencies"][extra])
    assert not only_there & runtime


def _stages() -> list[list[list[str]]]:
    """The Dockerfile's stages, each as the commands of its RUN instructions (split on ``&&``)."""
    text = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    stages: list[list[list[str]]] = []
    for line in text.splitlines():
        instruction, _, rest = line.strip().partition(" ")
        if instruction == "FROM":
            stages.append([])
        elif instruction == "RUN":
            stages[-1].extend(shlex.split(command) for command in rest.split("&&"))
    return stages


def _starting(commands: list[list[str]], *prefix: str) -> list[list[str]]:
    return [command for command in commands if command[: len(prefix)] == list(prefix)]


def test_the_image_installs_the_wheel_as_the_smoke_test_does() -> None:
    installs = _starting(_stages()[-1], "python", "-m", "pip", "install")
    assert installs, "the image's stage installs nothing with python -m pip install"
    first = [("WHEEL" if arg.endswith(".whl") else arg) for arg in installs[0]]
    assert first == install_command("python", "WHEEL")
    wheel = installs[0][-1]
    for other in installs[1:]:  # only the extras of that very wheel, once it is installed
        assert other == [*install_command("python", f"$(ls {wheel})[postgres]")], other


def test_the_image_builds_the_wheel_as_the_smoke_test_does() -> None:
    (build,) = _starting(_stages()[0], "python", "-m", "build")
    assert build == build_command("python", build[-2], build[-1])


def test_the_dockerfile_parser_sees_stages_and_commands() -> None:
    stages = _stages()
    assert len(stages) == 2
    assert ["python", "-m", "pip", "install", "--no-cache-dir", "build"] in stages[0]
