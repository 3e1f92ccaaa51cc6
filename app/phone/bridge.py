"""The phone bridge: answers the provider's webhooks, places "call me" calls, keeps the phone legs.

Dial-in: the deployment's number points its voice webhook at ``/phone/voice``; the caller enters the
room's PIN (:data:`app.phone.ivr.PIN_TRIES` tries, within the limits of :mod:`app.phone.pin_guard`),
says who they are if their number does not, and joins the room's conference (the other person is
told when the number is not the one given for them). "Call me": a participant of a live room asks
duet to ring their phone (the number :mod:`app.phone.call_me` allows); once they answer and press 1
they join the same conference. The conference's ``join``/``leave`` callbacks become ``phone.joined``
/ ``phone.left`` room events and ``phone`` frames.

State that the flow needs between two webhooks (the PIN attempt, the room) travels in the URLs duet
hands the provider, which the provider signs back; the only memory is who is on the phone.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Literal
from urllib.parse import urlencode

from app import crud
from app.access import Admission, Entry, Refusal, decide, phone_words
from app.config import Settings
from app.db import Database
from app.errors import BadGateway, Conflict, DuetError, Invalid, TooManyRequests
from app.event_log import EventLog
from app.live_rooms import LiveRooms
from app.metrics import Metrics
from app.models import PIN_DIGITS, PIN_LENGTHS, Participant, Room
from app.phone import ivr
from app.phone.call_me import CallMeAccepted, DailyCalls, choose_number
from app.phone.legs import LegState, PhoneLegs, Via
from app.phone.numbers import masked
from app.phone.pin_guard import PinGuard
from app.phone.provider import CallRequest, PhoneError, PhoneProvider, ProviderRejected, ProviderUnavailable
from app.phone.rate_limit import SlidingWindow
from app.phone.signature import Params
from app.phone.twiml import Conference
from signaling.events import (
    PhoneCalling,
    PhoneData,
    PhoneFailed,
    PhoneFailedData,
    PhoneJoined,
    PhoneJoinedData,
    PhoneLeft,
)
from signaling.messages import PhoneLeg, Role

__all__ = ["PhoneBridge"]

log = logging.getLogger("duet.phone")

OVER_RECENTLY = timedelta(days=1)
"""A PIN of a session that ended within this long gets "this session has ended" rather than "wrong PIN"."""
_FINAL_CALL_STATES = {"completed", "busy", "no-answer", "failed", "canceled"}

PhoneState = Literal["calling", "joined", "left", "failed"]


class PhoneBridge:
    """One deployment's phone bridge, in this process."""

    def __init__(
        self,
        *,
        settings: Settings,
        db: Database,
        events: EventLog,
        live: LiveRooms,
        provider: PhoneProvider,
        secret: str,
        metrics: Metrics,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        assert settings.phone_dial_in, "a phone provider needs DUET_PHONE_DIAL_IN (checked in Settings)"
        self.provider = provider
        self._settings = settings
        self._number = settings.phone_dial_in
        self._db = db
        self._events = events
        self._live = live
        self._key = hashlib.sha256(b"duet phone conference\0" + secret.encode()).digest()
        self._clock = clock
        self._legs = PhoneLegs()
        self._placing: set[tuple[str, Role]] = set()
        """Calls being placed right now (the provider has not answered yet)."""
        self._call_me = SlidingWindow(
            limit=settings.phone_call_me_per_room, window_s=settings.phone_call_me_window_s
        )
        self._daily = DailyCalls(limit=settings.phone_call_me_per_day, db=db, events=events)
        self._pins = PinGuard(wrong_per_minute=settings.phone_wrong_pins_per_minute, metrics=metrics)

    # --- what the web and API sides call -------------------------------------------------------

    @property
    def public_url(self) -> str:
        """The base of every webhook URL duet hands the provider (and the provider signs)."""
        return self._settings.public_url

    def conference_name(self, room_id: str) -> str:
        """The room's conference at the provider: stable for the room, and not revealing its id."""
        return "duet-" + hmac.new(self._key, room_id.encode(), hashlib.sha256).hexdigest()[:24]

    def verify(self, url: str, params: Params, signature: str | None) -> bool:
        return self.provider.verify(url, params, signature)

    async def call_me(
        self, *, room_id: str, role: Role, people: dict[Role, Participant], phone: str | None
    ) -> CallMeAccepted:
        """Ring a participant's phone: the one given at room creation or, where the deployment allows
        it, the number they typed.

        The caller was let in already (:data:`app.access.Entry.CALL_ME`: a live room)."""
        settings = self._settings
        try:
            number = choose_number(
                typed=phone,
                on_file=people[role].phone,
                allow_typed=settings.phone_call_me_typed,
                countries=settings.phone_call_countries,
            )
        except DuetError as exc:
            log.info("call me: not calling %s for room %s (%s)", masked(phone), room_id, exc.code)
            raise
        placed_today = await self._daily.placed()
        now = self._clock()  # nothing awaits from here until the call is counted in flight
        match self._legs.busy(room_id, role, now):
            case LegState.JOINED:
                raise Conflict("You are on the phone already.", code="already_on_phone")
            case LegState.CALLING:
                raise Conflict("duet is calling your phone already.", code="call_in_progress")
        if (room_id, role) in self._placing:
            raise Conflict("duet is calling your phone already.", code="call_in_progress")
        try:
            self._daily.check(placed_today, in_flight=len(self._placing))
        except TooManyRequests:
            log.warning("call me: the deployment's %d calls of the day are placed", self._daily.limit)
            raise
        self._call_me.forget_idle(now)
        if (retry_after := self._call_me.take(room_id, now)) is not None:
            raise TooManyRequests(
                f"duet placed {self._call_me.limit} calls for this session recently; try again in "
                f"{max(1, round(retry_after))} s.",
                retry_after_s=retry_after,
                code="rate_limited",
            )
        query = {"room": room_id, "role": role.value}
        request = CallRequest(
            to=number,
            from_=self._number,
            answer_url=self._url("/phone/call-me/answer", query),
            status_url=self._url("/phone/call-status", query),
            time_limit_s=settings.phone_call_me_max_s,
        )
        self._placing.add((room_id, role))
        try:
            placed = await self.provider.place_call(request)
        except ProviderRejected as exc:
            log.warning("%s refused a call to %s (code %s)", self.provider.name, masked(number), exc.code)
            raise Invalid("The phone service cannot call that number.", code="phone_rejected") from None
        except ProviderUnavailable as exc:
            log.error("%s could not place a call: %s", self.provider.name, exc)
            raise BadGateway(
                "The phone service is not answering; try again.", code="phone_unavailable"
            ) from None
        finally:
            self._placing.discard((room_id, role))
        self._legs.calling(room_id, role, placed.sid, now)
        self._events.record(room_id, PhoneCalling(role=role, data=PhoneData(via=Via.CALL_ME)))
        await self._tell(room_id, people, role, "calling")
        return CallMeAccepted(to=masked(number))

    async def end_room(self, room_id: str) -> None:
        """The room was ended: hang up everyone on its phone conference."""
        for call_sid in self._legs.calls(room_id):
            await self._hang_up(call_sid)

    async def close(self) -> None:
        await self.provider.close()

    # --- the provider's webhooks: dial-in ------------------------------------------------------

    async def incoming(self, params: Mapping[str, str]) -> str:
        """``/phone/voice``: someone called the dial-in number."""
        turned_away = self._pins.turned_away(params.get("From", ""), self._clock())
        return turned_away or ivr.ask_pin(action=self._pin_url(1), digits=PIN_DIGITS)

    async def pin_entered(self, params: Mapping[str, str], *, attempt: int) -> str:
        """``/phone/voice/pin``: the caller entered a PIN (or nothing)."""
        caller = params.get("From", "")
        if (turned_away := self._pins.turned_away(caller, self._clock())) is not None:
            return turned_away  # the PIN is not even looked at
        pin = "".join(ch for ch in params.get("Digits", "") if ch.isdigit())
        now = datetime.now(UTC)
        if len(pin) in PIN_LENGTHS:
            await self._events.flush()  # whether a room is live is written in batches
            rooms = await self._rooms_with(pin)
        else:
            rooms = []
        decided = [(r, self._decide(Entry.DIAL_IN, r, now)) for r in rooms]
        over_recently = [
            o
            for r, o in decided
            if isinstance(o, Refusal) and o.reason.room_over and _over_since(r, now) > now - OVER_RECENTLY
        ]
        current = [o for _, o in decided if not (isinstance(o, Refusal) and o.reason.room_over)]
        if not current:
            if over_recently:
                return ivr.goodbye(phone_words(over_recently[0]))
            if pin:
                self._pins.wrong(caller, self._clock())
            return ivr.wrong_pin(attempt=attempt, action=self._pin_url(attempt + 1), digits=PIN_DIGITS)
        if isinstance(current[0], Refusal):  # not open yet
            return ivr.goodbye(phone_words(current[0]))
        room = current[0].room
        people = (await self._people([room.id]))[room.id]
        known = [role for role, person in people.items() if caller and person.phone == caller]
        if len(known) == 1:
            return self._join(room, people, known[0], Via.DIAL_IN)
        return self._ask_who(room, people, attempt=1)

    async def caller_chose(self, params: Mapping[str, str], *, room_id: str, attempt: int) -> str:
        """``/phone/voice/who``: the caller pressed 1 (host) or 2 (guest)."""
        found = await self._in_call(room_id)
        if isinstance(found, str):
            return found
        room, people = found
        role = {"1": Role.HOST, "2": Role.GUEST}.get(params.get("Digits", ""))
        if role is not None:
            unknown = params.get("From") != people[role].phone
            return self._join(room, people, role, Via.DIAL_IN, unknown_number=unknown)
        if attempt >= ivr.PIN_TRIES:
            return ivr.goodbye("Sorry, I did not get that. Goodbye.")
        return self._ask_who(room, people, attempt=attempt + 1)

    # --- the provider's webhooks: "call me" ----------------------------------------------------

    async def call_me_answered(self, params: Mapping[str, str], *, room_id: str, role: Role) -> str:
        """``/phone/call-me/answer``: the person (or their voicemail) picked up."""
        found = await self._in_call(room_id)
        if isinstance(found, str):
            return found
        people = found[1]
        action = self._url("/phone/call-me/confirm", {"room": room_id, "role": role.value})
        return ivr.ask_to_confirm(you=people[role].name, action=action)

    async def call_me_confirmed(self, params: Mapping[str, str], *, room_id: str, role: Role) -> str:
        """``/phone/call-me/confirm``: the person pressed a key."""
        found = await self._in_call(room_id)
        if isinstance(found, str):
            return found
        if params.get("Digits") != "1":
            return ivr.goodbye("Goodbye.")
        room, people = found
        return self._join(room, people, role, Via.CALL_ME)

    # --- the provider's status callbacks -------------------------------------------------------

    async def conference_event(
        self, params: Mapping[str, str], *, room_id: str, role: Role, via: Via, unknown_number: bool = False
    ) -> None:
        """``/phone/conference``: a call joined or left the room's conference. ``unknown_number``: a
        dial-in call from a number other than the one given for ``role``."""
        call_sid, event = params.get("CallSid"), params.get("StatusCallbackEvent")
        if not call_sid or params.get("FriendlyName", self.conference_name(room_id)) != self.conference_name(
            room_id
        ):
            return
        now = self._clock()
        if event == "participant-join":
            found = await self._load(room_id)
            if found is None:
                return
            if isinstance(self._decide(Entry.PHONE_CALL, found[0]), Refusal):  # ended while connecting
                await self._hang_up(call_sid)
                return
            if self._legs.joined(room_id, role, call_sid, via, now):
                if unknown_number:
                    log.info("room %s: a number not given for the %s joined by phone", room_id, role.value)
                joined = PhoneJoinedData(via=via, unknown_number=unknown_number)
                self._events.record(room_id, PhoneJoined(role=role, data=joined))
                await self._tell(room_id, found[1], role, "joined", unknown_number=unknown_number)
        elif event == "participant-leave":
            if not self._legs.known(room_id, call_sid):  # it joined before this process started
                self._legs.joined(room_id, role, call_sid, via, now)
            await self._ended(room_id, call_sid, now, status="completed")

    async def call_status(self, params: Mapping[str, str], *, room_id: str, role: Role) -> None:
        """``/phone/call-status``: a "call me" call ended (answered or not)."""
        call_sid, status = params.get("CallSid"), params.get("CallStatus", "")
        if call_sid and status in _FINAL_CALL_STATES:
            await self._ended(room_id, call_sid, self._clock(), status=status)

    # --- internals -------------------------------------------------------------------------------

    async def _hang_up(self, call_sid: str) -> None:
        try:
            await self.provider.hang_up(call_sid)
        except PhoneError as exc:
            log.warning("could not hang up %s: %s", call_sid, exc)

    async def _ended(self, room_id: str, call_sid: str, now: float, *, status: str) -> None:
        leg = self._legs.ended(room_id, call_sid, now)
        if leg is None:
            return
        people = (await self._people([room_id])).get(room_id)
        if leg.state is LegState.LEFT:
            self._events.record(room_id, PhoneLeft(role=leg.role, data=PhoneData(via=leg.via)))
            state: PhoneState = "left"
        else:
            reason = "not-joined" if status == "completed" else status
            failed = PhoneFailedData(via=leg.via, status=reason)
            self._events.record(room_id, PhoneFailed(role=leg.role, data=failed))
            state = "failed"
        if people:
            await self._tell(room_id, people, leg.role, state)

    async def _tell(
        self,
        room_id: str,
        people: dict[Role, Participant],
        role: Role,
        state: PhoneState,
        *,
        unknown_number: bool = False,
    ) -> None:
        frame = PhoneLeg(
            role=role,
            name=people[role].name,
            state=state,
            on_phone=self._legs.on_phone(room_id),
            unknown_number=unknown_number,
        )
        self._live.phone_changed(room_id, frame)

    def _join(
        self,
        room: Room,
        people: dict[Role, Participant],
        role: Role,
        via: Via,
        *,
        unknown_number: bool = False,
    ) -> str:
        remaining = (room.expires_at - datetime.now(UTC)).total_seconds()
        query = {"room": room.id, "role": role.value, "via": via.value}
        if unknown_number:
            query["unknown"] = "1"  # signed by the provider when it calls back: the page is told
        conference = Conference(
            name=self.conference_name(room.id),
            status_callback=self._url("/phone/conference", query),
            time_limit_s=int(remaining),
        )
        peer_on_phone = role.other in self._legs.on_phone(room.id)
        return ivr.join(peer=people[role.other].name, peer_on_phone=peer_on_phone, conference=conference)

    def _ask_who(self, room: Room, people: dict[Role, Participant], *, attempt: int) -> str:
        action = self._url("/phone/voice/who", {"room": room.id, "attempt": str(attempt)})
        return ivr.ask_who(
            host=people[Role.HOST].name, guest=people[Role.GUEST].name, action=action, again=attempt > 1
        )

    def _pin_url(self, attempt: int) -> str:
        return self._url("/phone/voice/pin", {"attempt": str(attempt)})

    def _url(self, path: str, query: Mapping[str, str]) -> str:
        """An absolute URL the provider will call back (and sign): always under ``DUET_PUBLIC_URL``."""
        return f"{self._settings.public_url}{path}?{urlencode(query)}"

    def _decide(self, entry: Entry, room: Room | None, now: datetime | None = None) -> Admission | Refusal:
        now = now or datetime.now(UTC)
        settings = self._settings
        return decide(
            entry, None, room, now, join_early_s=settings.join_early_s, late_s=settings.phone_pin_late_s
        )

    async def _in_call(self, room_id: str) -> tuple[Room, dict[Role, Participant]] | str:
        """The room and its people for a call under way, or the TwiML that says why it ends here."""
        found = await self._load(room_id)
        outcome = self._decide(Entry.PHONE_CALL, None if found is None else found[0])
        if isinstance(outcome, Refusal):
            return ivr.goodbye(phone_words(outcome))
        assert found is not None
        return found

    async def _load(self, room_id: str) -> tuple[Room, dict[Role, Participant]] | None:
        async with self._db.session() as session:
            room = await crud.get_room(session, room_id=room_id)
            if room is None:
                return None
            people = (await crud.get_participants(session, room_ids=[room_id]))[room_id]
        return room, people

    async def _people(self, room_ids: list[str]) -> dict[str, dict[Role, Participant]]:
        async with self._db.session() as session:
            return await crud.get_participants(session, room_ids=room_ids)

    async def _rooms_with(self, pin: str) -> list[Room]:
        async with self._db.session() as session:
            return await crud.rooms_with_pin(session, pin=pin)


def _over_since(room: Room, now: datetime) -> datetime:
    """When an ended or expired room closed."""
    return room.ended_at or min(room.expires_at, now)
