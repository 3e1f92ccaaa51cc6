"""Room events: one typed model per type, written and read back through the same models."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import BaseModel

from signaling.events import (
    KNOWN_TYPES,
    Joined,
    LeaveData,
    Left,
    ModeData,
    ModeSwitched,
    PhoneJoined,
    PhoneJoinedData,
    RoomEvent,
    UnknownEvent,
    Via,
    event_row,
    parse_event,
)
from signaling.messages import CallMode, Role

AT = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)


def _stored(event: RoomEvent, event_id: int = 7) -> dict[str, Any]:
    """The row the event log writes, as the database gives it back (JSON data, id and time set)."""
    row = event_row(event)
    return {**row, "id": event_id, "at": AT}


@pytest.mark.parametrize(
    "event",
    [
        Joined(role=Role.HOST),
        Left(role=Role.GUEST, data=LeaveData(reason="timeout")),
        ModeSwitched(
            role=None,
            data=ModeData(mode=CallMode.AUDIO_ONLY, previous=CallMode.VIDEO, cause="video-poor", by="policy"),
        ),
        PhoneJoined(role=Role.GUEST, data=PhoneJoinedData(via=Via.DIAL_IN, unknown_number=True)),
    ],
)
def test_an_event_reads_back_as_the_model_it_was_written_with(event: RoomEvent) -> None:
    back = parse_event(_stored(event))
    assert type(back) is type(event)
    assert back.model_copy(update={"id": None, "at": None}) == event
    assert (back.id, back.at) == (7, AT)


def test_the_row_holds_json_values_only() -> None:
    row = event_row(PhoneJoined(role=Role.HOST, data=PhoneJoinedData(via=Via.CALL_ME)))
    assert row == {
        "type": "phone.joined",
        "role": Role.HOST,
        "data": {"via": "call-me", "unknown_number": False},
    }


@pytest.mark.parametrize(
    ("row", "why"),
    [
        ({"type": "session.feedback.v2", "role": None, "data": {"stars": 4}}, "a type from a newer version"),
        ({"type": "left", "role": "host", "data": {"reason": "vanished"}}, "data that no longer fits"),
        ({"type": "mode", "role": "host", "data": {}}, "data missing a field"),
    ],
)
def test_an_event_this_version_cannot_read_is_kept_as_it_was(row: dict[str, Any], why: str) -> None:
    event = parse_event({**row, "id": 3, "at": AT})
    assert isinstance(event, UnknownEvent), why
    assert (event.type, event.data, event.id) == (row["type"], row["data"], 3)
    assert event_row(event)["data"] == row["data"]  # passed through unchanged


def test_fields_a_newer_version_added_to_a_known_type_are_kept() -> None:
    event = parse_event(
        {"id": 1, "at": AT, "type": "left", "role": "guest", "data": {"reason": "bye", "after_s": 3}}
    )
    assert isinstance(event, Left)
    assert event_row(event)["data"] == {"reason": "bye", "after_s": 3}


def test_every_known_type_is_in_the_union_once() -> None:
    assert "unknown" not in KNOWN_TYPES
    assert {"joined", "left", "mode", "quality", "phone.joined", "scheduled", "feedback"} <= KNOWN_TYPES


def test_a_kept_event_stays_kept_inside_a_model_that_holds_events() -> None:
    class Page(BaseModel):
        items: list[RoomEvent]

    kept = parse_event({"id": 4, "at": AT, "type": "left", "role": "host", "data": {"reason": "vanished"}})
    page = Page(items=[kept])  # as the events API's answer is checked against its model
    assert isinstance(page.items[0], UnknownEvent)
    assert page.model_dump(mode="json")["items"][0]["data"] == {"reason": "vanished"}
