"""TURN REST credentials (coturn's ``use-auth-secret``) and the iceServers each participant gets."""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Any

import pytest
from pydantic import ValidationError

from app.config import IncompleteTurnSettings, Settings, WeakSecretError
from app.turn import ice_servers_for, participant_ice_servers, turn_credentials
from signaling.messages import IceServer

STUN = IceServer(urls=["stun:stun.example.org:3478"])


def test_credentials_follow_the_turn_rest_scheme() -> None:
    username, password = turn_credentials("north-sea", user_id="room1.host", now=1_700_000_000, ttl_s=3600)
    assert username == "1700003600:room1.host"
    expected = base64.b64encode(hmac.new(b"north-sea", b"1700003600:room1.host", hashlib.sha1).digest())
    assert password == expected.decode()


def test_a_known_vector() -> None:
    # Computed independently with OpenSSL:
    # printf '1700003600:alice' | openssl dgst -sha1 -hmac secret -binary | base64
    assert turn_credentials("secret", user_id="alice", now=1_700_000_000, ttl_s=3600) == (
        "1700003600:alice",
        "LLPLO4qjdVL2qZhwr3eImhn7J20=",
    )


@pytest.mark.parametrize(
    ("now", "ttl_s", "expiry"),
    [(1000.0, 60, 1060), (1000.2, 60, 1061), (0, 86400, 86400)],
)
def test_expiry_is_now_plus_ttl_rounded_up(now: float, ttl_s: int, expiry: int) -> None:
    username, _ = turn_credentials("s", user_id="u", now=now, ttl_s=ttl_s)
    assert int(username.split(":")[0]) == expiry


@pytest.mark.parametrize(
    ("secret", "user_id", "ttl_s", "message"),
    [
        ("", "u", 60, "non-empty TURN secret"),
        ("s", "u", 0, "positive TTL"),
        ("s", "a:b", 60, "without ':'"),
        ("s", "", 60, "without ':'"),
    ],
)
def test_nonsense_is_refused(secret: str, user_id: str, ttl_s: int, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        turn_credentials(secret, user_id=user_id, now=0, ttl_s=ttl_s)


def test_each_participant_gets_fresh_credentials_before_the_configured_servers() -> None:
    def servers(user_id: str, now: float) -> list[IceServer]:
        return participant_ice_servers(
            ice_servers=[STUN],
            turn_urls=["turn:turn.example.org:3478"],
            turn_secret="s",
            user_id=user_id,
            now=now,
            ttl_s=600,
        )

    host, guest, later = servers("r.host", 100), servers("r.guest", 100), servers("r.host", 200)
    assert [s.urls for s in host] == [["turn:turn.example.org:3478"], STUN.urls]
    assert host[0].username == "700:r.host" and guest[0].username == "700:r.guest"
    assert host[0].credential != guest[0].credential != later[0].credential
    assert host[1] == STUN


@pytest.mark.parametrize(
    ("turn_urls", "secret"), [([], "s"), (["turn:turn.example.org"], None), (["turn:turn.example.org"], "")]
)
def test_without_turn_only_the_configured_servers(turn_urls: list[str], secret: str | None) -> None:
    servers = participant_ice_servers(
        ice_servers=[STUN], turn_urls=turn_urls, turn_secret=secret, user_id="u", now=0, ttl_s=60
    )
    assert servers == [STUN]


def _settings(**values: Any) -> Settings:
    return Settings(_env_file=None, **values)


def test_settings_issue_credentials_per_room_and_role() -> None:
    settings = _settings(turn_urls=["turn:127.0.0.1:3478?transport=udp"], turn_secret="s", turn_ttl_s=120)
    (turn,) = ice_servers_for(settings, room_id="abc-_1", role="guest", now=50)
    assert turn.username == "170:abc-_1.guest"
    assert turn.urls == ["turn:127.0.0.1:3478?transport=udp"]


def test_settings_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DUET_TURN_URLS", '["turn:turn.example.org:3478", "turns:turn.example.org:5349"]')
    monkeypatch.setenv("DUET_TURN_SECRET", "from-env")
    monkeypatch.setenv("DUET_TURN_TTL_S", "600")
    settings = _settings()
    assert settings.turn_urls == ["turn:turn.example.org:3478", "turns:turn.example.org:5349"]
    assert settings.turn_secret is not None and settings.turn_secret.get_secret_value() == "from-env"
    assert "from-env" not in repr(settings)
    assert settings.turn_ttl_s == 600


@pytest.mark.parametrize(
    "values",
    [
        {"turn_urls": ["stun:turn.example.org"], "turn_secret": "s"},
        {"turn_urls": ["turn:turn.example.org"], "turn_secret": "s", "turn_ttl_s": 0},
        {"turn_urls": ["turn:turn.example.org"], "turn_secret": "s", "turn_ttl_s": 30 * 86400},
        {
            "turn_urls": ["turn:turn.example.org"],
            "turn_secret": "s",
            "turn_ttl_s": 600,
            "turn_refresh_s": 600,
        },
    ],
    ids=["not-a-turn-url", "ttl-zero", "ttl-a-month", "refresh-after-expiry"],
)
def test_settings_refuse_nonsense(values: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        _settings(**values)


def test_turn_urls_need_the_secret() -> None:
    with pytest.raises(ValidationError, match="DUET_TURN_SECRET") as info:
        _settings(turn_urls=["turn:turn.example.org"])
    assert isinstance(info.value.errors()[0]["ctx"]["error"], IncompleteTurnSettings)


@pytest.mark.parametrize(
    ("secret", "ok"),
    [
        ("changethis", False),
        ("short", False),
        ("t" * 40, False),  # long, but one character: no entropy
        ("qaTaqDRT-eym1ZNlYU633d2VThItOmJsPw9w69vffd0", True),  # secrets.token_urlsafe(32)
    ],
)
def test_production_needs_a_strong_turn_secret(secret: str, ok: bool) -> None:
    values = {
        "env": "production",
        "secret_key": "cTD2B1xKTPIaJWp40LAGcXNsHBTrvt4baoKajz3oRJA",
        "turn_urls": ["turn:t.example"],
        "turn_secret": secret,
    }
    if ok:
        assert _settings(**values).turn_urls == ["turn:t.example"]
        return
    with pytest.raises(ValidationError, match="DUET_TURN_SECRET") as info:
        _settings(**values)
    assert isinstance(info.value.errors()[0]["ctx"]["error"], WeakSecretError)
