"""TwiML builders and the phone's words: well-formed, escaped, with Twilio's attributes."""

from __future__ import annotations

from xml.etree import ElementTree

from twilio_stand_in import says, verbs

from app.phone import ivr, twiml
from app.phone.twiml import Conference


def parse(document: str) -> ElementTree.Element:
    assert document.startswith('<?xml version="1.0" encoding="UTF-8"?><Response>')
    return ElementTree.fromstring(document)


def test_user_text_cannot_change_the_document() -> None:
    name = 'Ana</Say><Dial>+19005550100</Dial><Say a="'
    document = parse(
        ivr.ask_who(host=name, guest="Ben & <Co>", action="https://d/phone/voice/who?room=r&attempt=1")
    )
    assert [e.tag for e in document.iter()] == ["Response", "Gather", "Say"]
    assert says(document) == [f"Press 1 if you are {name}. Press 2 if you are Ben & <Co>."]
    assert document[0].get("action") == "https://d/phone/voice/who?room=r&attempt=1"


def test_gather_collects_dtmf_and_posts_to_its_action() -> None:
    document = parse(ivr.ask_pin(action="https://d/phone/voice/pin?attempt=1", digits=6))
    assert verbs(document) == ["Say", "Gather"]
    assert document[1].attrib == {
        "input": "dtmf",
        "action": "https://d/phone/voice/pin?attempt=1",
        "method": "POST",
        "numDigits": "6",
        "timeout": "10",
        "actionOnEmptyResult": "true",
    }
    assert says(document) == ["Welcome to duet.", "Please enter your 6 digit session PIN."]


def test_join_announces_the_peer_and_dials_the_conference() -> None:
    conference = Conference(
        name="duet-abc",
        status_callback="https://d/phone/conference?room=r&role=host&via=dial-in",
        time_limit_s=99999,
    )
    document = parse(ivr.join(peer="Ben", peer_on_phone=True, conference=conference))
    assert says(document) == ["Joining you to your session with Ben. Ben is on the line."]
    dial = document.find("Dial")
    assert dial is not None and dial.get("timeLimit") == str(twiml.MAX_CALL_S)
    room = dial.find("Conference")
    assert room is not None and room.text == "duet-abc"
    assert room.get("statusCallback") == "https://d/phone/conference?room=r&role=host&via=dial-in"
    assert room.get("statusCallbackEvent") == "join leave"
    assert (room.get("startConferenceOnEnter"), room.get("endConferenceOnExit")) == ("true", "false")


def test_three_wrong_pins_end_with_a_polite_goodbye() -> None:
    assert verbs(parse(ivr.wrong_pin(attempt=1, action="a", digits=6))) == ["Gather"]
    assert verbs(parse(ivr.wrong_pin(attempt=2, action="a", digits=6))) == ["Gather"]
    last = parse(ivr.wrong_pin(attempt=3, action="a", digits=6))
    assert verbs(last) == ["Say", "Hangup"]
    assert says(last)[0].endswith("Goodbye.")


def test_call_me_asks_for_a_key_so_voicemail_stays_out() -> None:
    document = parse(ivr.ask_to_confirm(you="Ana María López", action="https://d/c"))
    assert verbs(document) == ["Gather", "Say", "Hangup"]
    assert document[0].get("actionOnEmptyResult") == "false" and document[0].get("numDigits") == "1"
    # Whoever answers (a stranger, if the number was wrong) hears a first name, nothing more, until 1.
    assert says(document) == [
        "Hello Ana. This is duet, calling about your session. Press 1 to join.",
        "No key was pressed. Goodbye.",
    ]


def test_the_conference_takes_two_people() -> None:
    document = parse(
        ivr.join(peer="Ben", peer_on_phone=False, conference=Conference("duet-abc", "https://d/c"))
    )
    room = document.find("Dial/Conference")
    assert room is not None and room.get("maxParticipants") == "2"


def test_a_first_name() -> None:
    assert [ivr.first_name(n) for n in ("Ana María López", "  Ben ", "Ana")] == ["Ana", "Ben", "Ana"]
