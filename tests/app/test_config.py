"""Settings: defaults, the DUET_ prefix, and the production secret rule."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from app.config import Settings, signing_secret


def test_defaults_need_no_other_server(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, _env_file=None)  # type: ignore[call-arg]
    assert settings.database_url == f"sqlite+aiosqlite:///{tmp_path / 'duet.db'}"
    assert settings.public_url == "http://127.0.0.1:8000"
    assert settings.ice_servers == []


def test_environment_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DUET_PUBLIC_URL", "https://duet.example/")
    monkeypatch.setenv(
        "DUET_ICE_SERVERS", '[{"urls": ["turn:turn.example:3478"], "username": "u", "credential": "p"}]'
    )
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.public_url == "https://duet.example"
    assert settings.ice_servers[0].urls == ["turn:turn.example:3478"]


@pytest.mark.parametrize("secret", [None, "changethis", "short"])
def test_production_refuses_a_weak_secret(secret: str | None) -> None:
    with pytest.raises(ValidationError, match="DUET_SECRET_KEY"):
        Settings(env="production", secret_key=secret, _env_file=None)  # type: ignore[call-arg]


def test_production_accepts_a_strong_secret() -> None:
    settings = Settings(env="production", secret_key="k" * 40, _env_file=None)  # type: ignore[call-arg]
    assert signing_secret(settings) == "k" * 40


def test_development_secret_is_generated_once_and_private(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "d", _env_file=None)  # type: ignore[call-arg]
    first = signing_secret(settings)
    assert len(first) >= 48 and signing_secret(settings) == first
    assert (tmp_path / "d" / "secret_key").stat().st_mode & 0o077 == 0
