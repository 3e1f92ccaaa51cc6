"""The provider the settings name (``DUET_PHONE_PROVIDER``)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import httpx

from app.config import Settings
from app.phone.console import ConsoleProvider
from app.phone.provider import PhoneProvider
from app.phone.twilio import TwilioProvider

__all__ = ["AsgiApp", "build_provider"]

AsgiApp = Callable[
    [
        MutableMapping[str, Any],
        Callable[[], Awaitable[MutableMapping[str, Any]]],
        Callable[[MutableMapping[str, Any]], Awaitable[None]],
    ],
    Awaitable[None],
]
"""An ASGI application (duet's own, for the console provider's in-process webhooks)."""


def build_provider(settings: Settings, *, app: AsgiApp | None = None) -> PhoneProvider | None:
    """``None`` when the deployment has no phone bridge.

    The console provider calls duet's webhooks in process through ``app`` when it is given,
    over HTTP at ``DUET_PUBLIC_URL`` otherwise.
    """
    match settings.phone_provider:
        case "none":
            return None
        case "console":
            assert settings.phone_dial_in  # Settings refuses the console without a number
            transport = httpx.ASGITransport(app=app) if app is not None else None
            return ConsoleProvider(
                public_url=settings.public_url, dial_in=settings.phone_dial_in, transport=transport
            )
        case "twilio":
            assert settings.twilio_account_sid and settings.twilio_auth_token  # checked by Settings
            return TwilioProvider(
                account_sid=settings.twilio_account_sid,
                auth_token=settings.twilio_auth_token.get_secret_value(),
                api_base=settings.twilio_api_base,
            )
