"""A telephony provider for development and tests: it logs what it would do and plays the phone network.

No call leaves the machine. When duet asks it to ring a phone, it logs the call (numbers masked) and
plays the person answering: it fetches the answer TwiML from duet's own webhooks, in process, signed
exactly as Twilio signs them, says aloud (in the log) what duet says, presses the keys a person
would, and follows ``<Gather>``, ``<Redirect>``, ``<Hangup>`` and ``<Dial><Conference>`` the way
Twilio does, including the conference's ``join``/``leave`` callbacks. :meth:`ConsoleProvider.dial_in`
plays someone calling the dial-in number; :meth:`ConsoleProvider.hang_up` ends a call.
"""

from __future__ import annotations

import asyncio
import enum
import hashlib
import logging
import secrets
from collections.abc import Coroutine, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal
from xml.etree import ElementTree

import httpx
from pydantic import BaseModel, Field

from app.phone.numbers import masked
from app.phone.provider import CallRequest, PlacedCall
from app.phone.signature import SIGNATURE_HEADER, Params, compute_signature, is_valid_signature

__all__ = ["ConsoleCall", "ConsoleCallPublic", "ConsoleCallState", "ConsoleProvider"]

log = logging.getLogger("duet.phone.console")

ACCOUNT_SID = "AC" + "0" * 32
"""The console's stand-in for a Twilio Account SID."""
MAX_STEPS = 20
"""TwiML documents followed per call before the console gives up (a redirect loop is a bug)."""


class ConsoleCallState(enum.StrEnum):
    RINGING = "ringing"
    IN_PROGRESS = "in-progress"
    """Answered; following duet's TwiML."""
    IN_CONFERENCE = "in-conference"
    COMPLETED = "completed"


@dataclass(slots=True)
class ConsoleCall:
    """One simulated call and what happened on it."""

    sid: str
    direction: Literal["inbound", "outbound-api"]
    to: str
    from_: str
    keys: list[str]
    """Keys the person will press, one ``<Gather>`` each (``""``: nothing pressed)."""
    state: ConsoleCallState = ConsoleCallState.RINGING
    conference: str | None = None
    """The conference the call was put in, by name."""
    heard: list[str] = field(default_factory=list)
    """Everything duet said on the call, in order."""
    status_callback: str | None = None
    conference_callback: str | None = None

    def params(self) -> dict[str, str]:
        """The parameters Twilio sends with every request about this call."""
        return {
            "AccountSid": ACCOUNT_SID,
            "CallSid": self.sid,
            "From": self.from_,
            "To": self.to,
            "Direction": self.direction,
            "CallStatus": self.state.value
            if self.state is not ConsoleCallState.IN_CONFERENCE
            else "in-progress",
        }

    def public(self) -> ConsoleCallPublic:
        return ConsoleCallPublic(
            sid=self.sid,
            direction=self.direction,
            to=masked(self.to),
            from_=masked(self.from_),
            state=self.state,
            conference=self.conference,
            heard=list(self.heard),
        )


class ConsoleCallPublic(BaseModel):
    """A console call as the development endpoints show it (numbers masked)."""

    sid: str
    direction: str
    to: str
    from_: str = Field(serialization_alias="from")
    state: ConsoleCallState
    conference: str | None
    heard: list[str]


class ConsoleProvider:
    """Logs calls instead of placing them, and plays both the phone network and the people on it."""

    name = "console"

    def __init__(
        self,
        *,
        public_url: str,
        dial_in: str,
        transport: httpx.AsyncBaseTransport | None = None,
        answer_keys: Sequence[str] = ("1",),
    ) -> None:
        """``transport`` reaches duet's webhooks (an ``httpx.ASGITransport`` over the app itself);
        without one, they are called over HTTP at ``public_url``. ``answer_keys`` are what a called
        person presses."""
        _make_audible()
        self._token = secrets.token_urlsafe(32)  # signs the webhook requests, as Twilio's auth token does
        self._public_url = public_url
        self._dial_in = dial_in
        self._answer_keys = list(answer_keys)
        self._client = httpx.AsyncClient(transport=transport, timeout=10.0, trust_env=False)
        self._tasks: set[asyncio.Task[None]] = set()
        self.calls: dict[str, ConsoleCall] = {}
        """Every call so far, by sid: the console's record."""

    # --- PhoneProvider -------------------------------------------------------------------------

    async def place_call(self, call: CallRequest) -> PlacedCall:
        record = self._new_call("outbound-api", to=call.to, from_=call.from_, keys=self._answer_keys)
        record.status_callback = call.status_url
        log.info(
            "console phone: calling %s from %s (%s, at most %d s)",
            masked(call.to),
            masked(call.from_),
            record.sid,
            call.time_limit_s,
        )
        self._spawn(self._answer(record, call.answer_url))
        return PlacedCall(sid=record.sid, status="queued")

    async def hang_up(self, call_sid: str) -> None:
        record = self.calls.get(call_sid)
        if record is not None and record.state is not ConsoleCallState.COMPLETED:
            log.info("console phone: %s hangs up", call_sid)
            await self._complete(record)

    def verify(self, url: str, params: Params, signature: str | None) -> bool:
        return is_valid_signature(self._token, url, params, signature)

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._client.aclose()

    # --- driving calls (development endpoints, tests) ---------------------------------------------

    async def dial_in(self, *, caller: str, keys: Sequence[str]) -> ConsoleCall:
        """Someone at ``caller`` calls the dial-in number and presses ``keys``, one entry per question."""
        record = self._new_call("inbound", to=self._dial_in, from_=caller, keys=list(keys))
        log.info("console phone: %s calls the dial-in number (%s)", masked(caller), record.sid)
        await self._answer(record, f"{self._public_url}/phone/voice")
        return record

    async def settle(self) -> None:
        """Wait until every simulated call has done all it can without someone hanging up."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    # --- internals -------------------------------------------------------------------------------

    def _new_call(
        self, direction: Literal["inbound", "outbound-api"], *, to: str, from_: str, keys: Sequence[str]
    ) -> ConsoleCall:
        record = ConsoleCall(
            sid="CA" + secrets.token_hex(16), direction=direction, to=to, from_=from_, keys=list(keys)
        )
        self.calls[record.sid] = record
        return record

    async def _answer(self, call: ConsoleCall, url: str) -> None:
        call.state = ConsoleCallState.IN_PROGRESS
        extra: dict[str, str] = {}
        for _ in range(MAX_STEPS):
            document = await self._post(url, call.params() | extra)
            step = await self._play(call, document)
            if step is None:
                return
            url, extra = step
        log.warning("console phone: %s followed %d documents; hanging up", call.sid, MAX_STEPS)
        await self._complete(call)

    async def _play(self, call: ConsoleCall, document: str) -> tuple[str, dict[str, str]] | None:
        """Act out one TwiML document; return the next request to make, or ``None`` when the call
        stays where it is (in a conference) or is over."""
        try:
            root = ElementTree.fromstring(document) if document.strip() else ElementTree.Element("Response")
        except ElementTree.ParseError:
            log.warning("console phone: %s got a document that is not TwiML; hanging up", call.sid)
            root = ElementTree.Element("Response")
        for verb in root:
            match verb.tag:
                case "Say":
                    self._hear(call, verb.text or "")
                case "Gather":
                    for words in verb.iter("Say"):
                        self._hear(call, words.text or "")
                    digits = call.keys.pop(0) if call.keys else ""
                    if digits:
                        log.info("console phone: %s presses %s", call.sid, "*" * len(digits))
                    if digits or verb.get("actionOnEmptyResult") == "true":
                        return verb.get("action") or "", {"Digits": digits}
                case "Redirect":
                    return verb.text or "", {}
                case "Hangup":
                    break
                case "Dial":
                    room = verb.find("Conference")
                    if room is not None:
                        await self._join(call, room)
                        return None
        await self._complete(call)
        return None

    async def _join(self, call: ConsoleCall, room: ElementTree.Element) -> None:
        call.state, call.conference = ConsoleCallState.IN_CONFERENCE, (room.text or "").strip()
        call.conference_callback = room.get("statusCallback")
        log.info("console phone: %s is in conference %s", call.sid, call.conference)
        await self._conference_event(call, "participant-join")

    async def _complete(self, call: ConsoleCall) -> None:
        was_in_conference = call.state is ConsoleCallState.IN_CONFERENCE
        call.state = ConsoleCallState.COMPLETED
        if was_in_conference:
            await self._conference_event(call, "participant-leave")
        if call.status_callback:
            await self._post(call.status_callback, call.params())

    async def _conference_event(self, call: ConsoleCall, event: str) -> None:
        if not call.conference_callback or call.conference is None:
            return
        conference_sid = "CF" + hashlib.sha256(call.conference.encode()).hexdigest()[:32]
        params = {
            "AccountSid": ACCOUNT_SID,
            "CallSid": call.sid,
            "ConferenceSid": conference_sid,
            "FriendlyName": call.conference,
            "StatusCallbackEvent": event,
        }
        await self._post(call.conference_callback, params)

    def _hear(self, call: ConsoleCall, words: str) -> None:
        call.heard.append(words)
        log.info("console phone: %s hears %r", call.sid, words)

    async def _post(self, url: str, params: dict[str, str]) -> str:
        """A webhook request as Twilio makes it: form-encoded, signed; the answer's body."""
        signature = compute_signature(self._token, url, params.items())
        try:
            response = await self._client.post(url, data=params, headers={SIGNATURE_HEADER: signature})
        except httpx.HTTPError as exc:
            log.warning("console phone: duet's webhook could not be reached: %r", exc)
            return ""
        if response.status_code >= 400:
            log.warning("console phone: duet's webhook answered HTTP %d", response.status_code)
            return ""
        return response.text

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work, name="duet-console-call")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


def _make_audible() -> None:
    """The console's log is its whole output: when nothing configured logging (``duet serve`` leaves it
    to uvicorn, which sets up only its own loggers), print it to stderr."""
    if log.hasHandlers():
        return
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(levelname)s:     %(message)s"))
    log.addHandler(handler)
    log.setLevel(logging.INFO)
