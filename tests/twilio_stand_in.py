"""Twilio, as far as duet can tell: its REST endpoint on a local port, and its signed webhook requests.

``FakeTwilio`` answers ``POST /2010-04-01/Accounts/{sid}/Calls.json`` as Twilio does and keeps every
request exactly as received (method, path, basic auth, form fields). ``TwilioSide`` sends duet the
webhook requests Twilio would, signed with Twilio's published algorithm, written out here on its own
so the tests do not check duet's code against itself.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import threading
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl
from xml.etree import ElementTree

import httpx
import uvicorn
from conftest import _free_socket, _Server
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

ACCOUNT_SID = "AC" + "a1" * 16
AUTH_TOKEN = "twilio-auth-token-for-tests-0123"
BRIDGE = "+14155550100"


def twilio_signature(token: str, url: str, params: Iterable[tuple[str, str]]) -> str:
    """https://www.twilio.com/docs/usage/security: the URL, then each name+value sorted by name, HMAC-SHA1."""
    data = url + "".join(name + value for name, value in sorted(params))
    return base64.b64encode(hmac.new(token.encode(), data.encode(), hashlib.sha1).digest()).decode()


@dataclass
class Received:
    method: str
    path: str
    basic_auth: tuple[str, str] | None
    form: list[tuple[str, str]]
    content_type: str

    @property
    def fields(self) -> dict[str, str]:
        return dict(self.form)


@dataclass
class FakeTwilio:
    """Twilio's REST API for calls. ``answer_with`` makes the next call requests fail as configured."""

    url: str = ""
    received: list[Received] = field(default_factory=list)
    answer_with: tuple[int, dict[str, Any]] | None = None
    _count: int = 0

    def app(self) -> Starlette:
        async def calls(request: Request) -> JSONResponse:
            body = (await request.body()).decode()
            auth = request.headers.get("authorization", "")
            basic = None
            if auth.startswith("Basic "):
                user, _, password = base64.b64decode(auth[6:]).decode().partition(":")
                basic = (user, password)
            self.received.append(
                Received(
                    method=request.method,
                    path=request.url.path,
                    basic_auth=basic,
                    form=parse_qsl(body, keep_blank_values=True),
                    content_type=request.headers.get("content-type", ""),
                )
            )
            if self.answer_with is not None:
                status, error = self.answer_with
                return JSONResponse(error, status_code=status)
            if basic != (ACCOUNT_SID, AUTH_TOKEN):
                return JSONResponse(
                    {"code": 20003, "message": "Authenticate", "status": 401}, status_code=401
                )
            account = request.path_params["account"]
            if "call" in request.path_params:  # update a call (hang up)
                return JSONResponse({"sid": request.path_params["call"], "status": "completed"})
            self._count += 1
            sid = "CA" + f"{self._count:032x}"
            form = dict(parse_qsl(body))
            return JSONResponse(
                {
                    "sid": sid,
                    "account_sid": account,
                    "to": form.get("To"),
                    "from": form.get("From"),
                    "status": "queued",
                },
                status_code=201,
            )

        return Starlette(
            routes=[
                Route("/2010-04-01/Accounts/{account}/Calls.json", calls, methods=["POST"]),
                Route("/2010-04-01/Accounts/{account}/Calls/{call}.json", calls, methods=["POST"]),
            ]
        )


@contextlib.asynccontextmanager
async def running_fake_twilio() -> AsyncIterator[FakeTwilio]:
    """Twilio's REST API on a free loopback port (uvicorn in a thread, like the ``server`` fixture)."""
    fake = FakeTwilio()
    sock = _free_socket()
    fake.url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    srv = _Server(uvicorn.Config(fake.app(), log_level="warning", lifespan="off"))
    thread = threading.Thread(target=lambda: asyncio.run(srv.serve(sockets=[sock])), daemon=True)
    thread.start()
    try:
        assert await asyncio.to_thread(srv.ready.wait, 15), "fake Twilio did not start"
        yield fake
    finally:
        srv.should_exit = True
        await asyncio.to_thread(thread.join, 15)
        sock.close()


def twilio_settings(fake: FakeTwilio, **more: Any) -> dict[str, Any]:
    return {
        "phone_provider": "twilio",
        "phone_dial_in": BRIDGE,
        "twilio_account_sid": ACCOUNT_SID,
        "twilio_auth_token": AUTH_TOKEN,
        "twilio_api_base": fake.url,
        **more,
    }


class TwilioSide:
    """Sends duet the webhook requests Twilio would, signed with the account's auth token."""

    def __init__(self, base_url: str, token: str = AUTH_TOKEN) -> None:
        self.base_url = base_url
        self.token = token

    def absolute(self, url_or_path: str) -> str:
        return url_or_path if url_or_path.startswith("http") else self.base_url + url_or_path

    async def post(
        self, url_or_path: str, params: dict[str, str], *, signature: str | None = "sign"
    ) -> httpx.Response:
        """POST ``params`` form-encoded; ``signature="sign"`` signs properly, ``None`` sends none."""
        url = self.absolute(url_or_path)
        headers = {}
        if signature == "sign":
            headers["X-Twilio-Signature"] = twilio_signature(self.token, url, params.items())
        elif signature is not None:
            headers["X-Twilio-Signature"] = signature
        async with httpx.AsyncClient(timeout=10, trust_env=False) as client:
            return await client.post(url, data=params, headers=headers)

    async def twiml(self, url_or_path: str, params: dict[str, str]) -> ElementTree.Element:
        """POST and parse the TwiML answer (asserting it is one)."""
        response = await self.post(url_or_path, params)
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("application/xml")
        return ElementTree.fromstring(response.text)


def says(document: ElementTree.Element) -> list[str]:
    """Everything the document reads to the caller, in order (inside ``<Gather>`` too)."""
    return [element.text or "" for element in document.iter("Say")]


def verbs(document: ElementTree.Element) -> list[str]:
    return [element.tag for element in document]


def call_params(call_sid: str, caller: str, **more: str) -> dict[str, str]:
    """What Twilio sends with a voice webhook for an incoming call."""
    return {
        "AccountSid": ACCOUNT_SID,
        "CallSid": call_sid,
        "From": caller,
        "To": BRIDGE,
        "Direction": "inbound",
        "CallStatus": "in-progress",
        **more,
    }
