"""Phone settings: a provider needs its number and credentials; the console never runs in production."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from app.config import Settings

SID = "AC" + "0" * 32
STRONG = "cTD2B1xKTPIaJWp40LAGcXNsHBTrvt4baoKajz3oRJA"  # secrets.token_urlsafe(32)


def settings(**values: Any) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def test_no_phone_provider_by_default() -> None:
    assert settings().phone_provider == "none"


@pytest.mark.parametrize(
    ("values", "words"),
    [
        ({"phone_provider": "console"}, "needs DUET_PHONE_DIAL_IN"),
        (
            {"phone_provider": "twilio", "phone_dial_in": "+14155550100"},
            "DUET_TWILIO_ACCOUNT_SID and DUET_TWILIO_AUTH_TOKEN",
        ),
        (
            {"phone_provider": "twilio", "phone_dial_in": "+14155550100", "twilio_account_sid": SID},
            "needs DUET_TWILIO_AUTH_TOKEN",
        ),
        (
            {
                "env": "production",
                "secret_key": STRONG,
                "phone_provider": "console",
                "phone_dial_in": "+14155550100",
            },
            "places no real calls",
        ),
        (
            {
                "env": "production",
                "secret_key": STRONG,
                "phone_provider": "twilio",
                "phone_dial_in": "+14155550100",
                "twilio_account_sid": SID,
                "twilio_auth_token": "t",
                "public_url": "http://duet.example",
            },
            "https:// address Twilio calls",
        ),
        (
            {"phone_provider": "twilio", "phone_dial_in": "+14155550100", "twilio_account_sid": "nope"},
            "pattern",
        ),
    ],
)
def test_incomplete_phone_settings_are_refused(values: dict[str, Any], words: str) -> None:
    with pytest.raises(ValidationError, match=words):
        settings(**values)


def test_complete_twilio_settings_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {
        "DUET_ENV": "production",
        "DUET_SECRET_KEY": STRONG,
        "DUET_PUBLIC_URL": "https://duet.example",
        "DUET_PHONE_PROVIDER": "twilio",
        "DUET_PHONE_DIAL_IN": "+14155550100",
        "DUET_TWILIO_ACCOUNT_SID": SID,
        "DUET_TWILIO_AUTH_TOKEN": "secret-token",
    }.items():
        monkeypatch.setenv(name, value)
    loaded = settings()
    assert loaded.phone_provider == "twilio" and loaded.twilio_api_base == "https://api.twilio.com"
    assert loaded.twilio_auth_token is not None and "secret-token" not in repr(loaded)
