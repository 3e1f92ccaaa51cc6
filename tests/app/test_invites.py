"""Calendar invites, read back with two iCalendar libraries (icalendar and vobject)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import icalendar
import pytest
import vobject
from conftest import RunningServer
from wsclient import split_join_url

DIAL_IN = "+14155550100"
START = datetime(2030, 5, 6, 15, 0, tzinfo=UTC)


@pytest.fixture
def server_settings() -> dict[str, Any]:
    return {"phone_provider": "console", "phone_dial_in": DIAL_IN}


async def ics_of(server: RunningServer, room_id: str, role: str) -> bytes:
    async with server.client() as api:
        response = await api.get(f"/v1/rooms/{room_id}/invite.ics", params={"role": role})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/calendar")
    return response.content


def events_in(ics: bytes) -> tuple[Any, Any]:
    """The one VEVENT as icalendar and as vobject read it."""
    [event] = icalendar.Calendar.from_ical(ics).walk("VEVENT")
    other = vobject.readOne(ics.decode()).vevent
    return event, other


async def test_each_person_gets_their_own_link_the_phone_backup_and_the_plan(server: RunningServer) -> None:
    room = await server.create_room(
        starts_at=START.isoformat(), ends_at=(START + timedelta(minutes=45)).isoformat()
    )
    host, also = events_in(await ics_of(server, room["id"], "host"))
    guest, _ = events_in(await ics_of(server, room["id"], "guest"))
    assert host["uid"] != guest["uid"] and also.uid.value == str(host["uid"])
    assert host.decoded("dtstart") == also.dtstart.value == START
    assert host.decoded("dtend") == START + timedelta(minutes=45)
    assert int(host["sequence"]) == int(also.sequence.value) == 0
    assert str(host["location"]) == room["join_urls"]["host"] == str(also.location.value)
    assert str(guest["location"]) == room["join_urls"]["guest"]
    assert str(host["summary"]) == "Weekly mentoring with Ben"
    conferences = host["conference"]
    assert [str(c) for c in conferences] == [
        room["join_urls"]["host"],
        f"tel:{DIAL_IN},,{room['dial_in']['pin']}#",
    ]
    assert (
        conferences[0].params["FEATURE"] == ["VIDEO", "AUDIO"]
        or conferences[0].params["FEATURE"] == "VIDEO,AUDIO"
    )
    # vobject reads a property it does not know as text, cut at its commas: the PIN's pauses.
    assert [c.value for c in also.contents["conference"]] == [room["join_urls"]["host"], f"tel:{DIAL_IN}"]
    description = str(host["description"])
    assert f"call {DIAL_IN} and enter PIN {room['dial_in']['pin']}" in description
    assert "audio only" in description and "/check#t=" in description
    assert str(host["status"]) == "CONFIRMED"


async def test_a_rescheduled_invite_keeps_its_uid_with_a_higher_sequence(server: RunningServer) -> None:
    room = await server.create_room(starts_at=START.isoformat())
    before, _ = events_in(await ics_of(server, room["id"], "guest"))
    later = START + timedelta(days=1)
    async with server.client() as api:
        moved = await api.patch(f"/v1/rooms/{room['id']}", json={"starts_at": later.isoformat()})
    assert moved.status_code == 200, moved.text
    after, also = events_in(await ics_of(server, room["id"], "guest"))
    assert after["uid"] == before["uid"]
    assert int(after["sequence"]) == int(also.sequence.value) == 1
    assert after.decoded("dtstart") == later
    assert after.decoded("dtend") == later + timedelta(hours=1)  # no planned end: an hour


async def test_the_page_gets_the_invite_with_its_token_and_a_cancelled_one_after_the_end(
    server: RunningServer,
) -> None:
    room = await server.create_room(starts_at=START.isoformat())
    room_id, token = split_join_url(room["join_urls"]["guest"])
    async with server.client() as api:
        mine = await api.post(f"/s/{room_id}/invite", json={"token": token})
        forged = await api.post(f"/s/{room_id}/invite", json={"token": token[:-4] + "AAAA"})
        await api.post(f"/v1/rooms/{room_id}/end", json={"reason": "mentor ill"})
        cancelled = await api.post(f"/s/{room_id}/invite", json={"token": token})
    assert mine.status_code == 200
    event, _ = events_in(mine.content)
    assert str(event["location"]) == room["join_urls"]["guest"]
    assert forged.status_code == 401
    assert cancelled.status_code == 200
    after, _ = events_in(cancelled.content)
    assert str(after["status"]) == "CANCELLED" and after["uid"] == event["uid"]


async def test_a_bad_role_or_another_keys_room_is_refused(server: RunningServer) -> None:
    room = await server.create_room()
    other = await server.make_api_key("other")
    async with server.client() as api, server.client(other) as theirs:
        assert (
            await api.get(f"/v1/rooms/{room['id']}/invite.ics", params={"role": "boss"})
        ).status_code == 422
        assert (
            await theirs.get(f"/v1/rooms/{room['id']}/invite.ics", params={"role": "host"})
        ).status_code == 404
