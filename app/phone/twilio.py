"""Twilio Programmable Voice behind :class:`app.phone.provider.PhoneProvider`.

Calls are placed with the REST API (``POST /2010-04-01/Accounts/{AccountSid}/Calls.json``, form
fields, HTTP basic auth with the Account SID and auth token); webhooks are checked with the auth
token (:mod:`app.phone.signature`). The API base is configurable so tests can stand a local server in
for Twilio's.
"""

from __future__ import annotations

import logging
from typing import Any

import httpx

from app.phone.numbers import masked
from app.phone.provider import CallRequest, PlacedCall, ProviderRejected, ProviderUnavailable
from app.phone.signature import Params, is_valid_signature

__all__ = ["RING_TIMEOUT_S", "TwilioProvider"]

log = logging.getLogger("duet.phone.twilio")

API_VERSION = "2010-04-01"
RING_TIMEOUT_S = 30
"""Seconds Twilio lets the phone ring before giving up (``no-answer``); Twilio's default is 60."""
HTTP_TIMEOUT_S = 10.0


class TwilioProvider:
    """Twilio's REST API for placing and ending calls, and its webhook signature."""

    name = "twilio"

    def __init__(
        self,
        *,
        account_sid: str,
        auth_token: str,
        api_base: str = "https://api.twilio.com",
        client: httpx.AsyncClient | None = None,
    ) -> None:
        self._sid = account_sid
        self._token = auth_token
        self._calls_url = f"{api_base.rstrip('/')}/{API_VERSION}/Accounts/{account_sid}/Calls"
        self._client = client or httpx.AsyncClient(timeout=HTTP_TIMEOUT_S)
        self._owns_client = client is None

    async def place_call(self, call: CallRequest) -> PlacedCall:
        form = {
            "To": call.to,
            "From": call.from_,
            "Url": call.answer_url,
            "Method": "POST",
            "StatusCallback": call.status_url,
            "StatusCallbackMethod": "POST",
            "Timeout": str(RING_TIMEOUT_S),
            "TimeLimit": str(call.time_limit_s),
        }
        body = await self._post(f"{self._calls_url}.json", form)
        sid, status = body.get("sid"), body.get("status")
        if not isinstance(sid, str) or not isinstance(status, str):
            raise ProviderUnavailable("Twilio answered without a call sid")
        log.info("placed call %s to %s (%s)", sid, masked(call.to), status)
        return PlacedCall(sid=sid, status=status)

    async def hang_up(self, call_sid: str) -> None:
        try:
            await self._post(f"{self._calls_url}/{call_sid}.json", {"Status": "completed"})
        except ProviderRejected as exc:  # the call is over already (Twilio: 404, or 21220 not in progress)
            log.info("hanging up %s: %s", call_sid, exc)

    def verify(self, url: str, params: Params, signature: str | None) -> bool:
        return is_valid_signature(self._token, url, params, signature)

    async def close(self) -> None:
        if self._owns_client:
            await self._client.aclose()

    async def _post(self, url: str, form: dict[str, str]) -> dict[str, Any]:
        try:
            response = await self._client.post(url, data=form, auth=httpx.BasicAuth(self._sid, self._token))
        except httpx.HTTPError as exc:
            raise ProviderUnavailable(f"Twilio could not be reached: {type(exc).__name__}") from None
        try:
            body = response.json()
        except ValueError:
            body = {}
        if not isinstance(body, dict):
            body = {}
        if response.status_code in (401, 403):
            log.error(
                "Twilio refused duet's credentials (HTTP %d): check DUET_TWILIO_*", response.status_code
            )
            raise ProviderUnavailable("Twilio refused duet's credentials")
        if 400 <= response.status_code < 500:
            code = body.get("code")
            message = str(body.get("message") or f"HTTP {response.status_code}")
            raise ProviderRejected(
                message, status=response.status_code, code=code if isinstance(code, int) else None
            )
        if response.status_code >= 300:
            raise ProviderUnavailable(f"Twilio failed with HTTP {response.status_code}")
        return body
