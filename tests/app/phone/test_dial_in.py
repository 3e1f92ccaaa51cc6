"""Dial-in, driven by webhook requests signed as Twilio signs them, against a real server."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import RunningServer
from twilio_stand_in import (
    AUTH_TOKEN,
    FakeTwilio,
    TwilioSide,
    call_params,
    says,
    twilio_settings,
    twilio_signature,
    verbs,
)

ANA_PHONE, BEN_PHONE, STRANGER = "+14155550123", "+447700900123", "+33612345678"
PEOPLE = {"host": {"name": "Ana", "phone": ANA_PHONE}, "guest": {"name": "Ben", "phone": BEN_PHONE}}


@pytest.fixture
def server_settings(fake_twilio: FakeTwilio) -> dict[str, Any]:
    return twilio_settings(fake_twilio)


async def events(server: RunningServer, room_id: str) -> list[tuple[str, str | None, dict[str, Any]]]:
    async with server.client() as api:
        items = (await api.get(f"/v1/rooms/{room_id}/events")).json()["items"]
    return [(e["type"], e["role"], e["data"]) for e in items if e["type"] != "scheduled"]


async def dial(twilio: TwilioSide, caller: str, *keys: str, sid: str = "CA01") -> Any:
    """Call the dial-in number and answer each question with the next keys; the last document."""
    document = await twilio.twiml("/phone/voice", call_params(sid, caller))
    for digits in keys:
        gather = document.find("Gather")
        assert gather is not None, says(document)
        document = await twilio.twiml(gather.get("action"), call_params(sid, caller, Digits=digits))
    return document


async def test_right_pin_from_a_known_number_joins_the_rooms_conference(server: RunningServer) -> None:
    room = await server.create_room(**PEOPLE)
    twilio = TwilioSide(server.url)
    welcome = await twilio.twiml("/phone/voice", call_params("CA01", ANA_PHONE))
    assert says(welcome) == ["Welcome to duet.", "Please enter your 8 digit session PIN."]
    assert welcome.find("Gather").get("action") == f"{server.url}/phone/voice/pin?attempt=1"  # type: ignore[union-attr]

    joined = await dial(twilio, ANA_PHONE, room["dial_in"]["pin"])
    assert verbs(joined) == ["Say", "Dial"]
    assert says(joined) == ["Joining you to your session with Ben."]
    conference = joined.find("Dial/Conference")
    assert conference is not None and conference.text is not None
    name = conference.text
    assert name.startswith("duet-") and room["id"] not in name and room["dial_in"]["pin"] not in name
    callback = conference.get("statusCallback")
    assert callback == f"{server.url}/phone/conference?room={room['id']}&role=host&via=dial-in"

    # Ben's call lands in the same conference and hears that Ana is there.
    ben = TwilioSide(server.url)
    join = {"AccountSid": "AC", "ConferenceSid": "CF1", "FriendlyName": name, "CallSid": "CA01"}
    assert (
        await twilio.post(callback, {**join, "StatusCallbackEvent": "participant-join"})
    ).status_code == 204
    bens = await dial(ben, BEN_PHONE, room["dial_in"]["pin"], sid="CA02")
    assert says(bens) == ["Joining you to your session with Ana. Ana is on the line."]
    assert bens.find("Dial/Conference").text == name  # type: ignore[union-attr]
    await twilio.post(callback, {**join, "StatusCallbackEvent": "participant-leave"})
    await twilio.post(callback, {**join, "StatusCallbackEvent": "participant-leave"})  # Twilio retried
    # Ben's call joined before duet restarted: its leave still counts.
    ben_callback = callback.replace("role=host", "role=guest")
    await ben.post(ben_callback, {**join, "CallSid": "CA02", "StatusCallbackEvent": "participant-leave"})
    assert await events(server, room["id"]) == [
        ("phone.joined", "host", {"via": "dial-in", "unknown_number": False}),
        ("phone.left", "host", {"via": "dial-in"}),
        ("phone.left", "guest", {"via": "dial-in"}),
    ]


async def test_an_unknown_number_says_who_it_is(server: RunningServer) -> None:
    room = await server.create_room(**PEOPLE)
    twilio = TwilioSide(server.url)
    question = await dial(twilio, STRANGER, room["dial_in"]["pin"])
    assert says(question) == ["Press 1 if you are Ana. Press 2 if you are Ben."]
    again = await dial(twilio, STRANGER, room["dial_in"]["pin"], "7")
    assert says(again) == ["Sorry, please choose again. Press 1 if you are Ana. Press 2 if you are Ben."]
    joined = await dial(twilio, STRANGER, room["dial_in"]["pin"], "7", "2")
    assert says(joined) == ["Joining you to your session with Ana."]
    assert "role=guest" in joined.find("Dial/Conference").get("statusCallback")  # type: ignore[union-attr, operator]


async def test_three_wrong_pins_and_a_polite_goodbye(server: RunningServer) -> None:
    room = await server.create_room(**PEOPLE)
    wrong = "00000000" if room["dial_in"]["pin"] != "00000000" else "11111111"
    twilio = TwilioSide(server.url)
    first = await dial(twilio, ANA_PHONE, wrong)
    assert says(first) == ["Sorry, that PIN is not right. Please enter your session PIN again."]
    assert first.find("Gather").get("action") == f"{server.url}/phone/voice/pin?attempt=2"  # type: ignore[union-attr]
    second = await dial(twilio, ANA_PHONE, wrong, "")  # nothing pressed counts as a try
    assert second.find("Gather").get("action") == f"{server.url}/phone/voice/pin?attempt=3"  # type: ignore[union-attr]
    last = await dial(twilio, ANA_PHONE, wrong, "", "12")
    assert verbs(last) == ["Say", "Hangup"]
    assert says(last) == [
        "Sorry, that PIN is still not right. Please check the PIN in your session details and call again. "
        "Goodbye."
    ]
    assert await events(server, room["id"]) == []


async def test_a_caller_who_keeps_guessing_is_turned_away(server: RunningServer) -> None:
    room = await server.create_room(**PEOPLE)
    wrong = "00000000" if room["dial_in"]["pin"] != "00000000" else "11111111"
    twilio = TwilioSide(server.url)
    for call_number in range(3):
        await dial(twilio, STRANGER, wrong, wrong, wrong, sid=f"CA{call_number}")
    refused = await twilio.twiml("/phone/voice", call_params("CA9", STRANGER))
    assert verbs(refused) == ["Say", "Hangup"] and "too many wrong PINs" in says(refused)[0]
    assert says(await dial(twilio, BEN_PHONE, room["dial_in"]["pin"]))[0].startswith(
        "Joining"
    )  # others still can


async def test_an_ended_room_says_goodbye(server: RunningServer) -> None:
    room = await server.create_room(**PEOPLE)
    async with server.client() as api:
        assert (await api.post(f"/v1/rooms/{room['id']}/end")).status_code == 200
    document = await dial(TwilioSide(server.url), ANA_PHONE, room["dial_in"]["pin"])
    assert verbs(document) == ["Say", "Hangup"]
    assert says(document) == ["This session has ended. Thank you for calling. Goodbye."]


async def test_a_room_that_has_not_started_yet(server: RunningServer) -> None:
    room = await server.create_room(**PEOPLE, starts_at="2099-01-01T10:00:00Z")
    document = await dial(TwilioSide(server.url), ANA_PHONE, room["dial_in"]["pin"])
    assert says(document)[0].startswith("This session has not started yet.")


async def test_unknown_rooms(server: RunningServer) -> None:
    twilio = TwilioSide(server.url)
    nobody = await dial(twilio, ANA_PHONE, "12345678")  # this server has no room at all
    assert says(nobody) == ["Sorry, that PIN is not right. Please enter your session PIN again."]
    for path in ("/phone/voice/who?room=nope&attempt=1", "/phone/call-me/answer?room=nope&role=host"):
        document = await twilio.twiml(path, call_params("CA1", ANA_PHONE, Digits="1"))
        assert verbs(document) == ["Say", "Hangup"]
    join = {"CallSid": "CA1", "FriendlyName": "duet-x", "StatusCallbackEvent": "participant-join"}
    response = await twilio.post("/phone/conference?room=nope&role=host&via=dial-in", join)
    assert response.status_code == 204


@pytest.mark.parametrize(
    "forgery",
    ["unsigned", "other account's token", "signed for another URL", "a parameter changed", "garbage"],
)
async def test_forged_webhooks_are_refused(server: RunningServer, forgery: str) -> None:
    room = await server.create_room(**PEOPLE)
    pin_url = f"{server.url}/phone/voice/pin?attempt=1"
    params = call_params("CA01", ANA_PHONE, Digits=room["dial_in"]["pin"])
    twilio = TwilioSide(server.url)
    match forgery:
        case "unsigned":
            response = await twilio.post(pin_url, params, signature=None)
        case "other account's token":
            response = await TwilioSide(server.url, token="some-other-auth-token").post(pin_url, params)
        case "signed for another URL":
            signed = twilio_signature(AUTH_TOKEN, f"{server.url}/phone/voice/pin?attempt=3", params.items())
            response = await twilio.post(pin_url, params, signature=signed)
        case "a parameter changed":
            signed = twilio_signature(AUTH_TOKEN, pin_url, {**params, "Digits": "000000"}.items())
            response = await twilio.post(pin_url, params, signature=signed)
        case _:
            response = await twilio.post(pin_url, params, signature="bm90IGEgc2lnbmF0dXJl")
    assert response.status_code == 403
    assert response.json() == {
        "code": "invalid_signature",
        "message": "This request is not signed by the phone provider.",
    }
    conference = f"{server.url}/phone/conference?room={room['id']}&role=host&via=dial-in"
    join = {"CallSid": "CA01", "StatusCallbackEvent": "participant-join"}
    assert (await twilio.post(conference, join, signature=None)).status_code == 403
    assert await events(server, room["id"]) == []
