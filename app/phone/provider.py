"""What duet needs of a telephony provider, and the provider's errors.

Declared here, where the bridge uses it; :mod:`app.phone.twilio` and :mod:`app.phone.console`
implement it. Webhooks follow Twilio's conventions (form-encoded parameters, TwiML answers,
``X-Twilio-Signature``), which the console provider imitates.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from app.phone.signature import Params

__all__ = [
    "CallRequest",
    "PhoneError",
    "PhoneProvider",
    "PlacedCall",
    "ProviderRejected",
    "ProviderUnavailable",
]


class PhoneError(Exception):
    """Base of the phone bridge's errors."""


class ProviderRejected(PhoneError):
    """The provider refused the request (an invalid or unreachable number, a blocked destination)."""

    def __init__(self, message: str, *, status: int, code: int | None = None) -> None:
        super().__init__(message)
        self.status, self.code = status, code


class ProviderUnavailable(PhoneError):
    """The provider could not be reached, failed, or refused our credentials."""


@dataclass(frozen=True, slots=True)
class CallRequest:
    """An outgoing call: ring ``to``; when it answers, fetch TwiML from ``answer_url``."""

    to: str
    """E.164."""
    from_: str
    """The caller id shown: the deployment's number (E.164)."""
    answer_url: str
    status_url: str
    """Where the provider POSTs the call's final status (``completed``, ``busy``, ``no-answer``, …)."""
    time_limit_s: int
    """The call is ended after this many seconds, whatever happens (Twilio's ``TimeLimit``)."""


@dataclass(frozen=True, slots=True)
class PlacedCall:
    sid: str
    """The provider's id for the call (Twilio: ``CA`` and 32 hex digits)."""
    status: str
    """The provider's word for where the call is (Twilio: ``queued``)."""


class PhoneProvider(Protocol):
    """A programmable-voice service: places and ends calls, and signs the webhooks it sends."""

    @property
    def name(self) -> str: ...

    async def place_call(self, call: CallRequest) -> PlacedCall:
        """Ask the provider to ring a phone; raises :class:`ProviderRejected` or
        :class:`ProviderUnavailable`."""
        ...

    async def hang_up(self, call_sid: str) -> None:
        """End a call (it leaves the conference). Ending a call that is over is not an error."""
        ...

    def verify(self, url: str, params: Params, signature: str | None) -> bool:
        """Whether a webhook request to ``url`` with these form parameters was signed by the provider."""
        ...

    async def close(self) -> None: ...
