"""The phone bridge's HTTP edge: "call me" for a join link holder, and the provider's signed webhooks.

Webhooks (``/phone/...``) are form-encoded POSTs from the provider, answered with TwiML. Each one
must carry a valid ``X-Twilio-Signature`` over ``DUET_PUBLIC_URL`` + path + query and the form
parameters; anything else is refused with 403 before it is read further. Their bodies are limited to
``app.body_limits.WEBHOOK_MAX_BYTES`` before they get here.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import parse_qsl

from fastapi import APIRouter, Depends, Path, Query, Request, Response, status
from pydantic import BaseModel, Field, field_validator

from app.access import Entry
from app.api.admission import admit
from app.deps import ROOM_ID_PATTERN, ApiKeyDep, RoomId, ServicesDep
from app.errors import Forbidden, NotFound, Unavailable
from app.phone.bridge import PhoneBridge
from app.phone.call_me import CallMeAccepted
from app.phone.console import ConsoleCallPublic, ConsoleProvider
from app.phone.legs import Via
from app.phone.numbers import is_e164
from app.phone.signature import SIGNATURE_HEADER
from signaling.messages import Role

router = APIRouter(tags=["phone"])

TWIML = "application/xml"

RoomParam = Annotated[str, Query(alias="room", min_length=1, max_length=32, pattern=ROOM_ID_PATTERN)]
RoleParam = Annotated[Role, Query(alias="role")]
Attempt = Annotated[int, Query(ge=1, le=10)]


def _bridge(services: ServicesDep) -> PhoneBridge:
    if services.phone is None:
        raise Unavailable("This deployment has no phone bridge (DUET_PHONE_PROVIDER).", code="phone_disabled")
    return services.phone


BridgeDep = Annotated[PhoneBridge, Depends(_bridge)]


async def _signed_form(request: Request, bridge: BridgeDep) -> dict[str, str]:
    """The webhook's form parameters, once the provider's signature over them has been checked."""
    body = await request.body()  # at most WEBHOOK_MAX_BYTES: app/body_limits.py refused anything longer
    pairs = parse_qsl(body.decode("utf-8", errors="replace"), keep_blank_values=True)
    url = bridge.public_url + request.url.path + (f"?{request.url.query}" if request.url.query else "")
    if not bridge.verify(url, pairs, request.headers.get(SIGNATURE_HEADER)):
        raise Forbidden("This request is not signed by the phone provider.", code="invalid_signature")
    return dict(pairs)


FormDep = Annotated[dict[str, str], Depends(_signed_form)]


def _twiml(document: str) -> Response:
    return Response(content=document, media_type=TWIML)


# --- "call me" ----------------------------------------------------------------------------------


class CallMeRequest(BaseModel):
    token: str = Field(max_length=4096)
    phone: str | None = Field(
        default=None,
        description="E.164, e.g. +14155550123; default: the number given at room creation. Another number "
        "only where the deployment allows typed numbers (DUET_PHONE_CALL_ME_TYPED), in its countries",
    )

    @field_validator("phone")
    @classmethod
    def _e164(cls, value: str | None) -> str | None:
        if value is not None and not is_e164(value):
            raise ValueError("phone must be in E.164 form, like +14155550123")
        return value


_CALL_ME_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "Invalid join token"},
    404: {"description": "No such room"},
    409: {"description": "The room is not live, or you are on the phone or being called already"},
    410: {"description": "The room has ended or expired"},
    422: {
        "description": "No number to call (phone_required, phone_not_on_file), a typed number duet may "
        "not call (phone_not_allowed: typing is off, another country, not a landline or mobile), or the "
        "provider cannot call it (phone_rejected)"
    },
    429: {
        "description": "Too many calls for this room recently (rate_limited) or for the whole deployment "
        "today (daily_limit); Retry-After says when to try again"
    },
    502: {"description": "The telephony provider failed"},
    503: {"description": "This deployment has no phone bridge"},
}


@router.post("/s/{room_id}/call-me", status_code=status.HTTP_202_ACCEPTED, responses=_CALL_ME_ERRORS)
async def call_me(
    room_id: RoomId, body: CallMeRequest, bridge: BridgeDep, services: ServicesDep
) -> CallMeAccepted:
    """duet rings the caller's phone and, once they press 1, joins it to the room's phone conference."""
    admitted = await admit(services, Entry.CALL_ME, token=body.token, room_id=room_id)
    return await bridge.call_me(room_id=room_id, role=admitted.role, people=admitted.people, phone=body.phone)


# --- the provider's webhooks --------------------------------------------------------------------


@router.post("/phone/voice", include_in_schema=False)
async def voice(bridge: BridgeDep, form: FormDep) -> Response:
    """The dial-in number's "a call comes in" webhook."""
    return _twiml(await bridge.incoming(form))


@router.post("/phone/voice/pin", include_in_schema=False)
async def pin(bridge: BridgeDep, form: FormDep, attempt: Attempt) -> Response:
    return _twiml(await bridge.pin_entered(form, attempt=attempt))


@router.post("/phone/voice/who", include_in_schema=False)
async def who(bridge: BridgeDep, form: FormDep, room_id: RoomParam, attempt: Attempt) -> Response:
    return _twiml(await bridge.caller_chose(form, room_id=room_id, attempt=attempt))


@router.post("/phone/call-me/answer", include_in_schema=False)
async def call_me_answer(bridge: BridgeDep, form: FormDep, room_id: RoomParam, role: RoleParam) -> Response:
    return _twiml(await bridge.call_me_answered(form, room_id=room_id, role=role))


@router.post("/phone/call-me/confirm", include_in_schema=False)
async def call_me_confirm(bridge: BridgeDep, form: FormDep, room_id: RoomParam, role: RoleParam) -> Response:
    return _twiml(await bridge.call_me_confirmed(form, room_id=room_id, role=role))


@router.post("/phone/conference", status_code=status.HTTP_204_NO_CONTENT, include_in_schema=False)
async def conference(
    bridge: BridgeDep,
    form: FormDep,
    room_id: RoomParam,
    role: RoleParam,
    via: Annotated[Via, Query()],
    unknown: Annotated[bool, Query()] = False,
) -> None:
    """The room conference's ``join``/``leave`` callback (``unknown``: a dial-in from a number other than
    the one given for ``role``; the URL is duet's own, signed back by the provider)."""
    await bridge.conference_event(form, room_id=room_id, role=role, via=via, unknown_number=unknown)


@router.post("/phone/call-status", status_code=status.HTTP_204_NO_CONTENT, include_in_schema=False)
async def call_status(bridge: BridgeDep, form: FormDep, room_id: RoomParam, role: RoleParam) -> None:
    """A "call me" call's final status."""
    await bridge.call_status(form, room_id=room_id, role=role)


# --- the console provider, for development ------------------------------------------------------


def _console(bridge: BridgeDep) -> ConsoleProvider:
    if not isinstance(bridge.provider, ConsoleProvider):
        raise NotFound("Only the console phone provider can be driven by hand.", code="not_console")
    return bridge.provider


ConsoleDep = Annotated[ConsoleProvider, Depends(_console)]


class ConsoleDialIn(BaseModel):
    from_: str = Field(alias="from", description="the caller's number, E.164")
    keys: list[str] = Field(default_factory=list, max_length=10, description="what they press, per question")

    @field_validator("from_")
    @classmethod
    def _e164(cls, value: str) -> str:
        if not is_e164(value):
            raise ValueError("from must be in E.164 form, like +14155550123")
        return value

    @field_validator("keys")
    @classmethod
    def _keys(cls, value: list[str]) -> list[str]:
        if any(len(k) > 12 or any(c not in "0123456789*#" for c in k) for k in value):
            raise ValueError("keys are strings of up to 12 phone keys (0-9, * and #)")
        return value


@router.get("/phone/console/calls", tags=["development"])
async def console_calls(console: ConsoleDep, _: ApiKeyDep) -> list[ConsoleCallPublic]:
    """Development only (``DUET_PHONE_PROVIDER=console``): every simulated call, once each has done
    what it can."""
    await console.settle()
    return [call.public() for call in console.calls.values()]


@router.post("/phone/console/dial-in", tags=["development"])
async def console_dial_in(body: ConsoleDialIn, console: ConsoleDep, _: ApiKeyDep) -> ConsoleCallPublic:
    """Development only: play someone calling the dial-in number and pressing ``keys``."""
    return (await console.dial_in(caller=body.from_, keys=body.keys)).public()


@router.post("/phone/console/calls/{sid}/hang-up", tags=["development"])
async def console_hang_up(
    sid: Annotated[str, Path(max_length=64)], console: ConsoleDep, _: ApiKeyDep
) -> ConsoleCallPublic:
    """Development only: the person on this simulated call hangs up."""
    call = console.calls.get(sid)
    if call is None:
        raise NotFound(f"No console call {sid!r}.", code="unknown_call")
    await console.hang_up(sid)
    return call.public()
