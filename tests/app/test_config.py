"""Settings: defaults, the DUET_ prefix, the production secret rule and the development host rule."""

from __future__ import annotations

import base64
import secrets
from collections.abc import Callable
from pathlib import Path

import pytest
from pydantic import ValidationError

from app.config import RemoteDevelopmentHost, Settings, WeakSecretError, signing_secret
from app.secret_strength import estimated_bits, weakness


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


STRONG = "SHEl0ObenPmwH6zP0JbXyqnM3HgJUKK2YUye32BTkSg"  # secrets.token_urlsafe(32)


@pytest.mark.parametrize(
    ("secret", "why"),
    [
        (None, "0 characters"),
        ("changethis", "well-known placeholder"),
        ("short", "5 characters"),
        ("k" * 40, "about 0 bits"),  # long enough, one character
        ("passwordpasswordpasswordpassword", "about 88 bits"),  # a word repeated
        ("abcdefghijklmnopqrstuvwxyz0123456789", "about 7 bits"),  # a run
        ("Tr0ub4dor&3Tr0ub4dor&3Tr0ub4dor&3", "about 108 bits"),
        ("0123456789abcdef0123456789abcdef", "bits"),  # 16 bytes as hex would be 128 bits at most
    ],
)
def test_production_refuses_a_weak_secret(secret: str | None, why: str) -> None:
    with pytest.raises(ValidationError, match="DUET_SECRET_KEY must be a strong random secret") as info:
        Settings(env="production", secret_key=secret, _env_file=None)  # type: ignore[call-arg]
    assert isinstance(info.value.errors()[0]["ctx"]["error"], WeakSecretError)
    assert why in str(info.value)


@pytest.mark.parametrize(
    "make",
    [
        lambda: secrets.token_urlsafe(32),
        lambda: secrets.token_hex(32),
        lambda: base64.b64encode(secrets.token_bytes(32)).decode(),  # openssl rand -base64 32
    ],
)
def test_production_accepts_32_random_bytes_however_written(make: Callable[[], str]) -> None:
    for _ in range(200):
        secret = make()
        assert weakness(secret) is None, (secret, estimated_bits(secret))


def test_production_accepts_a_strong_secret() -> None:
    settings = Settings(env="production", secret_key=STRONG, _env_file=None)  # type: ignore[call-arg]
    assert signing_secret(settings) == STRONG


def test_the_previous_key_must_be_strong_too() -> None:
    with pytest.raises(ValidationError, match="DUET_SECRET_KEY_PREVIOUS must be a strong random secret"):
        Settings(env="production", secret_key=STRONG, secret_key_previous="k" * 40, _env_file=None)  # type: ignore[call-arg]
    previous = secrets.token_urlsafe(32)
    settings = Settings(env="production", secret_key=STRONG, secret_key_previous=previous, _env_file=None)  # type: ignore[call-arg]
    assert settings.secret_key_previous is not None
    assert settings.secret_key_previous.get_secret_value() == previous


@pytest.mark.parametrize(
    ("host", "allowed", "ok"),
    [
        ("127.0.0.1", False, True),
        ("127.0.0.53", False, True),
        ("::1", False, True),
        ("localhost", False, True),
        ("0.0.0.0", False, False),
        ("::", False, False),
        ("192.168.1.10", False, False),
        ("duet.example.org", False, False),
        ("0.0.0.0", True, True),
    ],
)
def test_development_listens_on_loopback_unless_told(host: str, allowed: bool, ok: bool) -> None:
    values = {"host": host, "allow_remote_dev": allowed, "_env_file": None}
    if ok:
        assert Settings(**values).host == host  # type: ignore[arg-type]
        return
    with pytest.raises(ValidationError, match="DUET_ALLOW_REMOTE_DEV=true") as info:
        Settings(**values)  # type: ignore[arg-type]
    assert isinstance(info.value.errors()[0]["ctx"]["error"], RemoteDevelopmentHost)
    # Production and tests listen where they are told.
    Settings(**{**values, "env": "test"})  # type: ignore[arg-type]


@pytest.mark.parametrize("name", ["room_default_ttl_s", "room_max_ttl_s"])
def test_room_lifetimes_stay_within_ten_years(name: str) -> None:
    with pytest.raises(ValidationError, match=name):
        Settings(**{name: 10**15, "_env_file": None})  # type: ignore[arg-type]


def test_development_secret_is_generated_once_and_private(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "d", _env_file=None)  # type: ignore[call-arg]
    first = signing_secret(settings)
    assert len(first) >= 48 and signing_secret(settings) == first
    assert (tmp_path / "d" / "secret_key").stat().st_mode & 0o077 == 0
