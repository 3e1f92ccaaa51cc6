"""Guessing a room's PIN at the dial-in menu (issue 10: "20 numbers x 3 wrong PINs all went through").

Against a real server with Twilio's signed webhooks: a limit on wrong PINs from all callers together
(logged and counted), 8-digit PINs (old 6-digit ones still work), a PIN that opens a room only while
someone is in it or around its start, a conference for two, and the other person told when a number
that is not the one given for someone joins as them."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from conftest import RunningServer
from fallback_clients import Person
from prometheus_client.parser import text_string_to_metric_families
from twilio_stand_in import FakeTwilio, TwilioSide, call_params, says, twilio_settings
from wsclient import joined

from app.db import Database

ANA_PHONE, BEN_PHONE = "+14155550123", "+447700900123"
PEOPLE = {"host": {"name": "Ana", "phone": ANA_PHONE}, "guest": {"name": "Ben", "phone": BEN_PHONE}}
STRANGERS = [f"+336123{n:05d}" for n in range(20)]
PER_MINUTE = 6
TRY_LATER = "Sorry, duet cannot take your PIN right now. Please try again in a few minutes. Goodbye."
NOT_RIGHT = "Sorry, that PIN is not right"
STILL_NOT_RIGHT = "Sorry, that PIN is still not right"


@pytest.fixture
def server_settings(fake_twilio: FakeTwilio) -> dict[str, Any]:
    return twilio_settings(fake_twilio, phone_wrong_pins_per_minute=PER_MINUTE)


async def guess(twilio: TwilioSide, caller: str, *pins: str, sid: str) -> list[str]:
    """Call the dial-in number and type ``pins`` while the menu asks: everything the caller hears."""
    document = await twilio.twiml("/phone/voice", call_params(sid, caller))
    heard = says(document)
    for pin in pins:
        gather = document.find("Gather")
        if gather is None:
            break
        document = await twilio.twiml(gather.get("action", ""), call_params(sid, caller, Digits=pin))
        heard += says(document)
    return heard


async def metric(server: RunningServer, name: str) -> float:
    async with httpx.AsyncClient(base_url=server.url, trust_env=False) as client:
        text = (await client.get("/metrics")).text
    values = [s.value for f in text_string_to_metric_families(text) for s in f.samples if s.name == name]
    return values[0] if values else 0.0


def wrong_for(room: dict[str, Any]) -> str:
    return "00000000" if room["dial_in"]["pin"] != "00000000" else "11111111"


async def test_wrong_pins_from_all_callers_together_close_the_menu(
    server: RunningServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="duet.phone")
    room = await server.create_room(**PEOPLE)
    wrong, twilio = wrong_for(room), TwilioSide(server.url)
    heard = [
        await guess(twilio, caller, wrong, wrong, wrong, sid=f"CA{n:032x}")
        for n, caller in enumerate(STRANGERS)
    ]
    judged = sum(1 for words in heard for w in words if w.startswith((NOT_RIGHT, STILL_NOT_RIGHT)))
    assert judged == PER_MINUTE  # two callers' worth; then no PIN is looked at
    assert all(words == [TRY_LATER] for words in heard[2:])
    # Even the right PIN, from Ana's own phone: the menu takes none until the minute has passed.
    assert await guess(twilio, ANA_PHONE, room["dial_in"]["pin"], sid="CA" + "f" * 32) == [TRY_LATER]
    assert await metric(server, "duet_phone_wrong_pins_total") == PER_MINUTE
    assert await metric(server, "duet_phone_pin_lockouts_total") == 1
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any(f"{PER_MINUTE} wrong PINs from all callers" in w for w in warnings), warnings


async def test_new_pins_have_8_digits_and_old_6_digit_ones_still_work(server: RunningServer) -> None:
    room = await server.create_room(**PEOPLE)
    assert len(room["dial_in"]["pin"]) == 8 and room["dial_in"]["pin"].isdigit()
    older = await server.create_room(**PEOPLE)
    db = Database(server.settings.database_url)  # a room made before PINs grew to 8 digits
    try:
        async with db.engine.begin() as conn:
            await conn.execute(
                sa.text("UPDATE room SET dial_in_pin = '654321' WHERE id = :id"), {"id": older["id"]}
            )
    finally:
        await db.dispose()
    twilio = TwilioSide(server.url)
    assert (await guess(twilio, ANA_PHONE, room["dial_in"]["pin"], sid="CA1"))[-1].startswith("Joining")
    assert (await guess(twilio, BEN_PHONE, "654321", sid="CA2"))[-1].startswith("Joining")


async def test_a_pin_opens_a_room_only_while_someone_is_in_it_or_around_its_start(
    server: RunningServer,
) -> None:
    started = (datetime.now(UTC) - timedelta(hours=2)).isoformat()
    room = await server.create_room(**PEOPLE, starts_at=started)
    twilio = TwilioSide(server.url)
    assert await guess(twilio, ANA_PHONE, room["dial_in"]["pin"], sid="CA1") == [
        "Welcome to duet.",
        "Please enter your 8 digit session PIN.",
        "Nobody is in this session right now. Please call again once the other person has joined. Goodbye.",
    ]
    ben, _ = await joined(server.ws_url(room["id"]), room["join_urls"]["guest"])
    try:  # Ben is in the room: Ana's PIN works
        heard = await guess(twilio, ANA_PHONE, room["dial_in"]["pin"], sid="CA2")
    finally:
        await ben.close()
    assert heard[-1] == "Joining you to your session with Ben."


async def test_a_number_not_given_for_someone_joining_as_them_is_told_to_the_other(
    server: RunningServer,
) -> None:
    room = await server.create_room(**PEOPLE)
    pin, twilio = room["dial_in"]["pin"], TwilioSide(server.url)
    ben_client, _ = await joined(server.ws_url(room["id"]), room["join_urls"]["guest"])
    ben = Person(ben_client)
    try:
        # Someone with the PIN calls from a number duet does not know and says they are Ana.
        document = await twilio.twiml("/phone/voice", call_params("CA1", STRANGERS[0]))
        for digits in (pin, "1"):
            gather = document.find("Gather")
            assert gather is not None, says(document)
            document = await twilio.twiml(
                gather.get("action", ""), call_params("CA1", STRANGERS[0], Digits=digits)
            )
        conference = document.find("Dial/Conference")
        assert conference is not None and says(document) == ["Joining you to your session with Ben."]
        assert conference.get("maxParticipants") == "2"  # nobody else gets in, PIN or not
        callback = conference.get("statusCallback", "")
        assert callback.endswith("&via=dial-in&unknown=1")
        join = {
            "CallSid": "CA1",
            "FriendlyName": conference.text or "",
            "StatusCallbackEvent": "participant-join",
        }
        assert (await twilio.post(callback, join)).status_code == 204
        told = await ben.wait_for("phone", lambda f: f.state == "joined")
        assert (told.role, told.name, told.unknown_number) == ("host", "Ana", True)
        # Ana, connecting now, learns it too (the frame is sent again after her welcome).
        ana, _ = await joined(server.ws_url(room["id"]), room["join_urls"]["host"])
        again = await ana.recv_type("phone")
        assert (again.role, again.unknown_number) == ("host", True)
        await ana.close()
        # Ben calling from his own number is not flagged.
        bens = await guess(twilio, BEN_PHONE, pin, sid="CA2")
        assert bens[-1] == "Joining you to your session with Ana. Ana is on the line."
    finally:
        await ben.close()
    async with server.client() as api:
        events = (await api.get(f"/v1/rooms/{room['id']}/events")).json()["items"]
    assert [(e["type"], e["data"]) for e in events if e["type"] == "phone.joined"] == [
        ("phone.joined", {"via": "dial-in", "unknown_number": True})
    ]
