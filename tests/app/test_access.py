"""Who may enter a room: the pure decision as a table, then every entry point refusing an ended room
against a real server (preview, pre-call test, signaling socket, "call me", the phone menu)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from conftest import RunningServer
from twilio_stand_in import (
    FakeTwilio,
    TwilioSide,
    call_params,
    running_fake_twilio,
    says,
    twilio_settings,
    verbs,
)
from wsclient import WsClient, split_join_url

from app.access import (
    REFUSALS,
    RULES,
    Admission,
    Entry,
    Reason,
    Refusal,
    decide,
    http_error,
    phone_words,
    read_token,
    socket_refusal,
)
from app.models import Room, RoomState
from app.tokens import JoinClaims, JoinTokens
from signaling.messages import CloseCode, ErrorCode, Join, Role

NOW = datetime(2026, 12, 1, 15, 0, tzinfo=UTC)
EARLY_S = 600.0
LATE_S = 3600.0
ROOM_ID = "r" * 22


def _room(kind: str) -> Room | None:
    """A stored room in one of the situations the rules tell apart (``missing``: no such room)."""
    starts = {
        "far": NOW + timedelta(days=1),
        "soon": NOW + timedelta(seconds=EARLY_S - 60),
        "late": NOW - timedelta(seconds=LATE_S + 60),
        "late-live": NOW - timedelta(seconds=LATE_S + 60),
    }.get(kind, NOW - timedelta(minutes=5))
    room = Room(
        id=ROOM_ID, title="Weekly mentoring", starts_at=starts, expires_at=starts + timedelta(hours=3)
    )
    match kind:
        case "missing":
            return None
        case "live" | "late-live":
            room.live_since = NOW - timedelta(minutes=1)
        case "ended":
            room.ended_at = NOW - timedelta(minutes=1)
        case "ended-long-ago":
            room.ended_at = NOW - timedelta(days=8)
        case "ended-while-live":
            room.live_since, room.ended_at = NOW - timedelta(minutes=3), NOW - timedelta(minutes=1)
        case "expired":
            room.expires_at = NOW
    return room


def _claims(role: Role = Role.GUEST, room_id: str = ROOM_ID) -> JoinClaims:
    return JoinClaims(room_id=room_id, role=role, expires_at=NOW + timedelta(hours=3))


A = "admitted"
NF, ENDED, EXPIRED = Reason.ROOM_NOT_FOUND, Reason.ROOM_ENDED, Reason.ROOM_EXPIRED
EARLY, NOT_LIVE = Reason.TOO_EARLY, Reason.ROOM_NOT_LIVE
ENTRIES = [
    *(Entry.PREVIEW, Entry.CHECK, Entry.SOCKET, Entry.CALL_ME, Entry.DIAL_IN, Entry.PHONE_CALL),
    *(Entry.INVITE, Entry.FEEDBACK),
]
OUTCOMES: dict[str, list[str | Reason]] = {
    # room:            preview  check     socket  call-me   dial-in  phone call  invite  feedback
    "missing": [NF, NF, NF, NF, NF, NF, NF, NF],
    "far": [A, A, EARLY, NOT_LIVE, EARLY, A, A, A],
    "soon": [A, A, A, NOT_LIVE, A, A, A, A],
    "open": [A, A, A, NOT_LIVE, A, A, A, A],
    "live": [A, A, A, A, A, A, A, A],
    # started over DUET_PHONE_PIN_LATE_S ago: the PIN opens it only while someone is in it
    "late": [A, A, A, NOT_LIVE, NOT_LIVE, A, A, A],
    "late-live": [A, A, A, A, A, A, A, A],
    # over: only the entries that come after a call, for a week
    "ended": [ENDED] * 6 + [A, A],
    "ended-while-live": [ENDED] * 6 + [A, A],
    "expired": [EXPIRED] * 6 + [A, A],
    "ended-long-ago": [ENDED] * 8,
}
CASES = [(kind, entry, row[i]) for kind, row in OUTCOMES.items() for i, entry in enumerate(ENTRIES)]


def _decide(entry: Entry, kind: str, credential: JoinClaims | Refusal | None = None) -> Admission | Refusal:
    if credential is None and RULES[entry].token:
        credential = _claims()
    return decide(entry, credential, _room(kind), NOW, join_early_s=EARLY_S, late_s=LATE_S)


def test_the_table_covers_every_entry() -> None:
    assert set(ENTRIES) == set(Entry) == set(RULES)


@pytest.mark.parametrize(("kind", "entry", "expected"), CASES)
def test_decide(kind: str, entry: Entry, expected: str | Reason) -> None:
    outcome = _decide(entry, kind)
    if expected == A:
        assert isinstance(outcome, Admission), outcome
        assert outcome.room.id == ROOM_ID
        assert outcome.role == (Role.GUEST if RULES[entry].token else None)
    else:
        assert isinstance(outcome, Refusal) and outcome.reason is expected, outcome
        assert outcome.message


@pytest.mark.parametrize(
    ("kind", "state"),
    [("far", RoomState.SCHEDULED), ("open", RoomState.OPEN), ("live", RoomState.LIVE)],
)
def test_an_admission_carries_the_rooms_state(kind: str, state: RoomState) -> None:
    outcome = _decide(Entry.PREVIEW, kind)
    assert isinstance(outcome, Admission) and outcome.state is state


def test_too_early_says_when_the_room_opens() -> None:
    outcome = _decide(Entry.SOCKET, "far")
    assert isinstance(outcome, Refusal)
    assert (
        outcome.message == f"This session opens at {(NOW + timedelta(days=1)).isoformat()}; come back then."
    )


@pytest.mark.parametrize("entry", [e for e in Entry if RULES[e].token])
@pytest.mark.parametrize("kind", ["missing", "open", "ended"])
def test_a_refused_token_is_refused_whatever_the_room(entry: Entry, kind: str) -> None:
    token = Refusal(Reason.INVALID_TOKEN, "This join link has expired.")
    assert _decide(entry, kind, token) is token


@pytest.mark.parametrize("entry", [e for e in Entry if RULES[e].token])
def test_claims_for_another_room_are_refused(entry: Entry) -> None:
    outcome = _decide(entry, "open", _claims(room_id="another"))
    assert isinstance(outcome, Refusal) and outcome.reason is Reason.INVALID_TOKEN


@pytest.mark.parametrize("entry", list(Entry))
def test_an_entry_gets_the_credential_it_expects(entry: Entry) -> None:
    wrong = None if RULES[entry].token else _claims()
    with pytest.raises(ValueError, match=f"the {entry.value} entry expects"):
        decide(entry, wrong, _room("open"), NOW, join_early_s=EARLY_S)


def test_read_token() -> None:
    tokens = JoinTokens("s" * 48)
    token = tokens.issue(room_id=ROOM_ID, role=Role.HOST, expires_at=datetime.now(UTC) + timedelta(hours=1))
    claims = read_token(tokens, token, room_id=ROOM_ID)
    assert isinstance(claims, JoinClaims) and claims.role is Role.HOST
    assert read_token(tokens, token, room_id="another") == Refusal(
        Reason.INVALID_TOKEN, "This join link is for another room."
    )
    assert read_token(tokens, "garbage", room_id=ROOM_ID) == Refusal(
        Reason.INVALID_TOKEN, "This join link is not valid."
    )


# --- one table, three channels -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reason", "status", "socket"),
    [
        (Reason.INVALID_TOKEN, 401, (ErrorCode.UNAUTHORIZED, CloseCode.UNAUTHORIZED)),
        (Reason.ROOM_NOT_FOUND, 404, (ErrorCode.ROOM_NOT_FOUND, CloseCode.ROOM_NOT_FOUND)),
        (Reason.ROOM_ENDED, 410, (ErrorCode.ROOM_ENDED, CloseCode.ROOM_ENDED)),
        (Reason.ROOM_EXPIRED, 410, (ErrorCode.ROOM_EXPIRED, CloseCode.ROOM_EXPIRED)),
        (Reason.TOO_EARLY, 409, (ErrorCode.TOO_EARLY, CloseCode.TOO_EARLY)),
        (Reason.ROOM_NOT_LIVE, 409, None),
    ],
)
def test_each_refusal_on_each_channel(
    reason: Reason, status: int, socket: tuple[ErrorCode, CloseCode] | None
) -> None:
    refusal = Refusal(reason, "Because.")
    error = http_error(refusal)
    assert (error.status, error.code, error.message) == (status, reason.value, "Because.")
    if socket is None:
        with pytest.raises(ValueError, match="a refusal the socket can give"):
            socket_refusal(refusal)
    else:
        assert socket_refusal(refusal) == (*socket, "Because.")
    assert phone_words(refusal).endswith("Goodbye.")


def test_the_table_says_every_reason() -> None:
    assert set(REFUSALS) == set(Reason)


@pytest.mark.parametrize("kind", list(OUTCOMES))
def test_every_socket_refusal_has_its_close_code(kind: str) -> None:
    outcome = _decide(Entry.SOCKET, kind)
    if isinstance(outcome, Refusal):
        code, close, message = socket_refusal(outcome)
        assert 4000 <= close < 5000 and code.value == outcome.reason.value and message


def test_the_phone_says_a_session_is_over() -> None:
    for kind in ("ended", "expired"):
        outcome = _decide(Entry.DIAL_IN, kind)
        assert isinstance(outcome, Refusal) and outcome.reason.room_over
        assert phone_words(outcome) == "This session has ended. Thank you for calling. Goodbye."
    early = _decide(Entry.DIAL_IN, "far")
    assert isinstance(early, Refusal) and not early.reason.room_over
    assert phone_words(early).startswith("This session has not started yet.")
    late = _decide(Entry.DIAL_IN, "late")
    assert isinstance(late, Refusal) and not late.reason.room_over
    assert phone_words(late).startswith("Nobody is in this session right now.")


def test_the_pin_menu_needs_to_know_how_late_a_pin_works() -> None:
    with pytest.raises(ValueError, match="the dial-in entry expects late_s"):
        decide(Entry.DIAL_IN, None, _room("open"), NOW, join_early_s=EARLY_S)


# --- every entry point, against a real server ----------------------------------------------------

ANA_PHONE = "+14155550123"
TURN = {"turn_urls": ["turn:127.0.0.1:3478"], "turn_secret": "s3cret"}


@pytest.fixture
async def fake_twilio() -> AsyncIterator[FakeTwilio]:
    async with running_fake_twilio() as fake:
        yield fake


@pytest.fixture
def server_settings(fake_twilio: FakeTwilio) -> dict[str, Any]:
    # No echo peer may run (429 precall_busy): a refused test shows the refusal came before the echo.
    return twilio_settings(fake_twilio, precall_max_concurrent=0, **TURN)


async def _ended_room(server: RunningServer) -> dict[str, Any]:
    room = await server.create_room(host={"name": "Ana", "phone": ANA_PHONE}, guest={"name": "Ben"})
    async with server.client() as api:
        assert (await api.post(f"/v1/rooms/{room['id']}/end")).status_code == 200
    return room


def _token(room: dict[str, Any], role: str = "host") -> str:
    return split_join_url(room["join_urls"][role])[1]


MEASURED = {"connected": True, "rtt_s": 0.05, "loss": 0.0, "jitter_s": 0.005, "bitrate_bps": 2e6}
HTTP_ENTRIES = {
    "preview": ("preview", {}),
    "check/config": ("check/config", {}),
    "check": ("check", {"sdp": "v=0", "type": "offer"}),
    "check/verdict": ("check/verdict", MEASURED),
    "call-me": ("call-me", {}),
}


@pytest.mark.parametrize("entry", list(HTTP_ENTRIES))
async def test_an_ended_room_is_gone_at_every_http_entry(
    server: RunningServer, fake_twilio: FakeTwilio, entry: str
) -> None:
    room = await _ended_room(server)
    path, body = HTTP_ENTRIES[entry]
    async with server.client() as client:
        response = await client.post(f"/s/{room['id']}/{path}", json={"token": _token(room), **body})
    assert response.status_code == 410, response.text
    assert response.json() == {"code": "room_ended", "message": "This session has ended."}
    assert "ice_servers" not in response.text and "s3cret" not in response.text  # no TURN credentials
    assert fake_twilio.received == []  # no phone rang


async def test_before_an_ended_room_the_same_entries_answer(server: RunningServer) -> None:
    """The same requests for a room that is not over: the table above tests the room, not the request."""
    room = await server.create_room(host={"name": "Ana", "phone": ANA_PHONE}, guest={"name": "Ben"})
    async with server.client() as client:

        async def post(path: str, body: dict[str, Any]) -> Any:
            return await client.post(f"/s/{room['id']}/{path}", json={"token": _token(room), **body})

        assert (await post(*HTTP_ENTRIES["preview"])).status_code == 200
        config = await post(*HTTP_ENTRIES["check/config"])
        assert config.status_code == 200 and config.json()["ice_servers"][0]["urls"] == TURN["turn_urls"]
        assert (await post(*HTTP_ENTRIES["check"])).json()["code"] == "precall_busy"  # the echo was asked
        assert (await post(*HTTP_ENTRIES["check/verdict"])).json()["verdict"] == "video"
        assert (await post(*HTTP_ENTRIES["call-me"])).json()["code"] == "room_not_live"  # nobody is there


@pytest.mark.parametrize("server_settings", [{}])
async def test_days_before_the_session_the_preview_and_test_work_but_joining_waits(
    server: RunningServer, server_settings: dict[str, Any]
) -> None:
    room = await server.create_room(starts_at=(datetime.now(UTC) + timedelta(days=2)).isoformat())
    async with server.client() as client:
        preview = await client.post(f"/s/{room['id']}/preview", json={"token": _token(room)})
        config = await client.post(f"/s/{room['id']}/check/config", json={"token": _token(room)})
    assert preview.status_code == 200 and preview.json()["room"]["state"] == "scheduled"
    assert config.status_code == 200
    socket = await WsClient.open(server.ws_url(room["id"]))
    await socket.send(Join(token=_token(room)))
    assert (await socket.recv_type("error")).code == ErrorCode.TOO_EARLY
    assert await socket.closed_with() == CloseCode.TOO_EARLY


async def test_an_ended_room_refuses_the_socket(server: RunningServer) -> None:
    room = await _ended_room(server)
    socket = await WsClient.open(server.ws_url(room["id"]))
    await socket.send(Join(token=_token(room, "guest")))
    error = await socket.recv_type("error")
    assert (error.code, error.message) == (ErrorCode.ROOM_ENDED, "This session has ended.")
    assert await socket.closed_with() == CloseCode.ROOM_ENDED


async def test_the_phone_menu_says_an_ended_room_is_over(server: RunningServer) -> None:
    room = await _ended_room(server)
    twilio, over = TwilioSide(server.url), ["This session has ended. Thank you for calling. Goodbye."]
    asked = await twilio.twiml("/phone/voice", call_params("CA01", ANA_PHONE))
    gather = asked.find("Gather")
    assert gather is not None
    document = await twilio.twiml(
        gather.get("action", ""), call_params("CA01", ANA_PHONE, Digits=room["dial_in"]["pin"])
    )
    assert (verbs(document), says(document)) == (["Say", "Hangup"], over)
    # A call under way (a "call me" call answered after the room ended) is told the same.
    answered = await twilio.twiml(
        f"/phone/call-me/answer?room={room['id']}&role=host", call_params("CA02", ANA_PHONE)
    )
    assert (verbs(answered), says(answered)) == (["Say", "Hangup"], over)
