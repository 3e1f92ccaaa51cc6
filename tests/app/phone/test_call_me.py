""" "Call me" through the Twilio adapter: the REST request Twilio receives, then Twilio's signed
webhooks joining the call to the room's conference, the events and the ``phone`` frames."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import RunningServer
from fallback_clients import Person, call
from twilio_stand_in import (
    ACCOUNT_SID,
    AUTH_TOKEN,
    BRIDGE,
    FakeTwilio,
    TwilioSide,
    says,
    twilio_settings,
)
from wsclient import split_join_url

ANA_PHONE, BEN_TYPED = "+14155550123", "+442079460999"
PER_ROOM = 3
TYPED = {"phone_call_me_typed": True, "phone_call_countries": ["US", "GB"]}
"""This deployment lets people type a number (tests/app/phone/test_call_me_limits.py: the default)."""


@pytest.fixture
def server_settings(fake_twilio: FakeTwilio) -> dict[str, Any]:
    return twilio_settings(fake_twilio, phone_call_me_per_room=PER_ROOM, **TYPED)


def token(room: dict[str, Any], role: str) -> str:
    return split_join_url(room["join_urls"][role])[1]


async def call_me(server: RunningServer, room: dict[str, Any], role: str, **body: Any) -> Any:
    async with server.client() as api:
        return await api.post(f"/s/{room['id']}/call-me", json={"token": token(room, role), **body})


async def events(server: RunningServer, room_id: str) -> list[tuple[str, str | None, dict[str, Any]]]:
    async with server.client() as api:
        items = (await api.get(f"/v1/rooms/{room_id}/events")).json()["items"]
    return [(e["type"], e["role"], e["data"]) for e in items if e["type"].startswith("phone.")]


async def answer(twilio: TwilioSide, placed: dict[str, str], *, sid: str, press: str = "1") -> Any:
    """Twilio rings the phone, the person answers and presses ``press``: the last document."""
    params = {"AccountSid": ACCOUNT_SID, "CallSid": sid, "From": placed["From"], "To": placed["To"]}
    params |= {"Direction": "outbound-api", "CallStatus": "in-progress"}
    asked = await twilio.twiml(placed["Url"], params)
    gather = asked.find("Gather")
    assert gather is not None
    return asked, await twilio.twiml(gather.get("action", ""), {**params, "Digits": press})


async def phone_frame(person: Person, role: str, state: str) -> Any:
    return await person.wait_for("phone", lambda f: f.role == role and f.state == state)


async def test_call_me_rings_both_phones_into_one_conference(
    server: RunningServer, fake_twilio: FakeTwilio
) -> None:
    async with call(server, host={"name": "Ana", "phone": ANA_PHONE}, guest={"name": "Ben"}) as (
        room,
        ana,
        ben,
    ):
        twilio = TwilioSide(server.url)

        response = await call_me(server, room, "host")
        assert (response.status_code, response.json()) == (202, {"status": "calling", "to": "+*********23"})
        [request] = fake_twilio.received
        assert request.path == f"/2010-04-01/Accounts/{ACCOUNT_SID}/Calls.json"
        assert request.basic_auth == (ACCOUNT_SID, AUTH_TOKEN)
        query = f"room={room['id']}&role=host"
        assert request.fields == {
            "To": ANA_PHONE,
            "From": BRIDGE,
            "Url": f"{server.url}/phone/call-me/answer?{query}",
            "Method": "POST",
            "StatusCallback": f"{server.url}/phone/call-status?{query}",
            "StatusCallbackMethod": "POST",
            "Timeout": "30",
            "TimeLimit": "3600",
        }
        for person in (ana, ben):
            calling = await phone_frame(person, "host", "calling")
            assert (calling.name, calling.on_phone) == ("Ana", [])

        asked, joined = await answer(twilio, request.fields, sid="CA" + f"{1:032x}")
        assert says(asked)[0] == "Hello Ana. This is duet, calling about your session. Press 1 to join."
        assert says(joined) == ["Joining you to your session with Ben."]
        conference = joined.find("Dial/Conference")
        assert conference is not None
        name, callback = conference.text or "", conference.get("statusCallback", "")
        assert callback == f"{server.url}/phone/conference?{query}&via=call-me"
        event = {"ConferenceSid": "CF1", "FriendlyName": name, "CallSid": "CA" + f"{1:032x}"}
        assert (
            await twilio.post(callback, {**event, "StatusCallbackEvent": "participant-join"})
        ).status_code == 204
        for person in (ana, ben):
            assert (await phone_frame(person, "host", "joined")).on_phone == ["host"]

        # Ben has no number on file: he types one.
        assert (await call_me(server, room, "guest")).json()["code"] == "phone_required"
        assert (await call_me(server, room, "guest", phone="0044 7700")).status_code == 422
        assert (await call_me(server, room, "guest", phone=BEN_TYPED)).status_code == 202
        bens = fake_twilio.received[-1].fields
        assert bens["To"] == BEN_TYPED and bens["Url"].endswith("role=guest")
        _, joined = await answer(twilio, bens, sid="CA" + f"{2:032x}")
        assert says(joined) == ["Joining you to your session with Ana. Ana is on the line."]
        guest_callback = joined.find("Dial/Conference").get("statusCallback")  # type: ignore[union-attr]
        assert joined.find("Dial/Conference").text == name  # type: ignore[union-attr]  # the same conference
        event |= {"CallSid": "CA" + f"{2:032x}", "StatusCallbackEvent": "participant-join"}
        await twilio.post(guest_callback, event)
        for person in (ana, ben):
            both = await phone_frame(person, "guest", "joined")
            assert (both.name, both.on_phone) == ("Ben", ["host", "guest"])

        # On the phone already: no second call.
        assert (await call_me(server, room, "host")).json()["code"] == "already_on_phone"

    assert await events(server, room["id"]) == [
        ("phone.calling", "host", {"via": "call-me"}),
        ("phone.joined", "host", {"via": "call-me", "unknown_number": False}),
        ("phone.calling", "guest", {"via": "call-me"}),
        ("phone.joined", "guest", {"via": "call-me", "unknown_number": False}),
    ]
    async with server.client() as api:  # both browsers closed, both on the phone: the session goes on
        assert (await api.get(f"/v1/rooms/{room['id']}")).json()["state"] == "live"
        hung_up = len(fake_twilio.received)
        assert (await api.post(f"/v1/rooms/{room['id']}/end")).status_code == 200
    # Ending the room hangs up both phones.
    assert [(r.path.rsplit("/", 1)[-1], r.fields) for r in fake_twilio.received[hung_up:]] == [
        (f"CA{1:032x}.json", {"Status": "completed"}),
        (f"CA{2:032x}.json", {"Status": "completed"}),
    ]


async def test_an_unanswered_call_fails_and_may_be_tried_again(
    server: RunningServer, fake_twilio: FakeTwilio
) -> None:
    async with call(server, host={"name": "Ana", "phone": ANA_PHONE}, guest={"name": "Ben"}) as (
        room,
        ana,
        ben,
    ):
        twilio = TwilioSide(server.url)
        assert (await call_me(server, room, "host")).status_code == 202
        assert (await call_me(server, room, "host")).json()["code"] == "call_in_progress"
        status_url = fake_twilio.received[0].fields["StatusCallback"]
        params = {"AccountSid": ACCOUNT_SID, "CallSid": "CA" + f"{1:032x}", "CallStatus": "no-answer"}
        assert (await twilio.post(status_url, params)).status_code == 204
        failed = await phone_frame(ben, "host", "failed")
        assert failed.on_phone == []

        # Voicemail picks up the second call: nobody presses 1, so it never joins.
        assert (await call_me(server, room, "host")).status_code == 202
        placed = fake_twilio.received[1].fields
        sid = "CA" + f"{2:032x}"
        _, goodbye = await answer(twilio, placed, sid=sid, press="")
        assert says(goodbye) == ["Goodbye."]
        await twilio.post(placed["StatusCallback"], {"CallSid": sid, "CallStatus": "completed"})
        await phone_frame(ana, "host", "failed")
    assert await events(server, room["id"]) == [
        ("phone.calling", "host", {"via": "call-me"}),
        ("phone.failed", "host", {"via": "call-me", "status": "no-answer"}),
        ("phone.calling", "host", {"via": "call-me"}),
        ("phone.failed", "host", {"via": "call-me", "status": "not-joined"}),
    ]


async def test_calls_per_room_are_limited(server: RunningServer, fake_twilio: FakeTwilio) -> None:
    async with call(server, host={"name": "Ana", "phone": ANA_PHONE}, guest={"name": "Ben"}) as (room, *_):
        twilio = TwilioSide(server.url)
        for n in range(1, PER_ROOM + 1):
            assert (await call_me(server, room, "guest", phone=BEN_TYPED)).status_code == 202
            await twilio.post(
                fake_twilio.received[-1].fields["StatusCallback"],
                {"CallSid": "CA" + f"{n:032x}", "CallStatus": "busy"},
            )
        refused = await call_me(server, room, "host")
    assert refused.status_code == 429
    assert refused.json()["code"] == "rate_limited" and 0 < int(refused.headers["Retry-After"]) <= 600
    assert len(fake_twilio.received) == PER_ROOM


async def test_only_the_participants_of_a_live_room(server: RunningServer, fake_twilio: FakeTwilio) -> None:
    room = await server.create_room(host={"name": "Ana", "phone": ANA_PHONE}, guest={"name": "Ben"})
    assert (await call_me(server, room, "host")).json()["code"] == "room_not_live"  # nobody is connected
    other = await server.create_room()
    async with server.client() as api:
        forged = await api.post(f"/s/{room['id']}/call-me", json={"token": token(other, "host")})
        assert (forged.status_code, forged.json()["code"]) == (401, "invalid_token")
        unknown = await api.post("/s/nope/call-me", json={"token": token(room, "host")})
        assert unknown.status_code == 401  # the token is bound to its room
    async with server.client() as api:
        await api.post(f"/v1/rooms/{room['id']}/end")
    ended = await call_me(server, room, "host")
    assert (ended.status_code, ended.json()["code"]) == (410, "room_ended")
    assert fake_twilio.received == []


@pytest.mark.parametrize(
    ("twilio_answer", "status", "code"),
    [
        (
            (400, {"code": 21211, "message": "The 'To' number +14155550123 is not valid", "status": 400}),
            422,
            "phone_rejected",
        ),
        ((500, {"message": "oops"}), 502, "phone_unavailable"),
    ],
)
async def test_provider_errors(
    server: RunningServer, fake_twilio: FakeTwilio, twilio_answer: Any, status: int, code: str
) -> None:
    fake_twilio.answer_with = twilio_answer
    async with call(server, host={"name": "Ana", "phone": ANA_PHONE}, guest={"name": "Ben"}) as (room, *_):
        response = await call_me(server, room, "host")
    assert (response.status_code, response.json()["code"]) == (status, code)
    assert ANA_PHONE not in response.text


async def test_the_console_endpoints_are_only_for_the_console(server: RunningServer) -> None:
    async with server.client() as api:
        response = await api.get("/phone/console/calls")
    assert (response.status_code, response.json()["code"]) == (404, "not_console")


async def test_the_preview_says_call_me_is_available(server: RunningServer) -> None:
    room = await server.create_room(host={"name": "Ana", "phone": ANA_PHONE}, guest={"name": "Ben"})
    async with server.client() as api:
        ana = await api.post(f"/s/{room['id']}/preview", json={"token": token(room, "host")})
        ben = await api.post(f"/s/{room['id']}/preview", json={"token": token(room, "guest")})
    assert ana.json()["call_me"] == {"phone": "+*********23", "typed": True}
    assert ben.json()["call_me"] == {"phone": None, "typed": True}  # the page asks Ben for his number
