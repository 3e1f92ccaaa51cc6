"""The app's tests that touch the database run on SQLite and on PostgreSQL."""

from __future__ import annotations

import pytest
from conftest import DATABASES


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    # Every test here that uses the database (directly or through ``server``) runs once per backend,
    # unless it chose its backend itself with its own ``parametrize("database_url", ...)``.
    chosen = any("database_url" in mark.args[0] for mark in metafunc.definition.iter_markers("parametrize"))
    if "database_url" in metafunc.fixturenames and not chosen:
        metafunc.parametrize("database_url", DATABASES, indirect=True)
