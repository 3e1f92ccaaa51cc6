"""The wire protocol: round trips and every refusal."""

from __future__ import annotations

import json

import pytest

from signaling.messages import (
    Answer,
    Bye,
    Candidate,
    Error,
    ErrorCode,
    IceCandidate,
    IceServer,
    IceServersUpdate,
    Join,
    Offer,
    PeerInfo,
    PeerJoined,
    PeerLeft,
    PhoneLeg,
    Ping,
    Pong,
    ProtocolError,
    Role,
    RoomInfo,
    Welcome,
    dump_message,
    parse_client_message,
    parse_server_message,
)

CANDIDATE = IceCandidate(
    candidate="candidate:1 1 udp 2122260223 198.18.0.2 50000 typ host", sdp_mid="0", sdp_m_line_index=0
)


@pytest.mark.parametrize(
    "message",
    [
        Join(token="abc"),
        Offer(sdp="v=0\r\n"),
        Answer(sdp="v=0\r\n"),
        Candidate(candidate=CANDIDATE),
        Candidate(candidate=None),
        Bye(),
        Ping(id=3),
        Ping(),
    ],
)
def test_client_messages_round_trip(message: object) -> None:
    assert parse_client_message(dump_message(message)) == message  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "message",
    [
        Welcome(
            room=RoomInfo(id="r", title="t"),
            you=PeerInfo(role=Role.HOST, name="Ana", present=True),
            peer=PeerInfo(role=Role.GUEST, name="Ben"),
            polite=False,
            ice_servers=[IceServer(urls=["turn:198.18.0.1:3478"], username="u", credential="c")],
            ping_interval_s=10,
        ),
        PeerJoined(peer=PeerInfo(role=Role.GUEST, name="Ben", present=True), rejoined=True),
        PeerLeft(peer=PeerInfo(role=Role.GUEST, name="Ben"), reason="timeout"),
        Pong(id=1),
        Error(code=ErrorCode.OUT_OF_ORDER, message="no"),
        Offer(sdp="x"),
        PhoneLeg(role=Role.HOST, name="Ana", state="joined", on_phone=[Role.HOST, Role.GUEST]),
        IceServersUpdate(
            ice_servers=[IceServer(urls=["turn:198.18.0.1:3478"], username="u", credential="c")]
        ),
    ],
)
def test_server_messages_round_trip(message: object) -> None:
    assert parse_server_message(dump_message(message)) == message  # type: ignore[arg-type]


def test_wire_uses_webrtc_field_names() -> None:
    wire = json.loads(dump_message(Candidate(candidate=CANDIDATE)))
    assert set(wire["candidate"]) == {"candidate", "sdpMid", "sdpMLineIndex", "usernameFragment"}
    welcome = json.loads(
        dump_message(
            Welcome(
                room=RoomInfo(id="r", title="t"),
                you=PeerInfo(role=Role.HOST, name="A"),
                peer=PeerInfo(role=Role.GUEST, name="B"),
                polite=False,
                ice_servers=[],
                ping_interval_s=5,
            )
        )
    )
    assert {"iceServers", "pingIntervalS", "polite", "v"} <= set(welcome)


def test_unknown_fields_are_ignored_for_forward_compatibility() -> None:
    assert parse_client_message('{"type": "bye", "reason": "new in v2"}') == Bye()


@pytest.mark.parametrize(
    ("frame", "code", "words"),
    [
        ("{", ErrorCode.INVALID_JSON, "not valid JSON"),
        ("[1, 2]", ErrorCode.INVALID_MESSAGE, "object"),
        ("{}", ErrorCode.INVALID_MESSAGE, "'type'"),
        ('{"type": "hello"}', ErrorCode.UNKNOWN_TYPE, "'hello'"),
        ('{"type": "welcome"}', ErrorCode.UNKNOWN_TYPE, "'welcome'"),  # server-only type from a client
        ('{"type": "join"}', ErrorCode.INVALID_MESSAGE, "token"),
        ('{"type": "offer", "sdp": 5}', ErrorCode.INVALID_MESSAGE, "sdp"),
        ('{"type": "candidate"}', ErrorCode.INVALID_MESSAGE, "candidate"),
        (
            '{"type": "candidate", "candidate": {"sdpMid": "0"}}',
            ErrorCode.INVALID_MESSAGE,
            "candidate.candidate",
        ),
        (
            '{"type": "candidate", "candidate": {"candidate": "c", "sdpMLineIndex": -1}}',
            ErrorCode.INVALID_MESSAGE,
            "sdpMLineIndex",
        ),
        ('{"type": "ping", "id": "x"}', ErrorCode.INVALID_MESSAGE, "id"),
    ],
)
def test_refusals_are_precise(frame: str, code: ErrorCode, words: str) -> None:
    with pytest.raises(ProtocolError) as caught:
        parse_client_message(frame)
    assert caught.value.code is code
    assert words in caught.value.message


def test_size_limit_counts_utf8_bytes() -> None:
    frame = json.dumps({"type": "offer", "sdp": "é" * 600}, ensure_ascii=False)  # 600 chars, 1200 bytes
    assert parse_client_message(frame, max_bytes=2000) == Offer(sdp="é" * 600)
    with pytest.raises(ProtocolError) as caught:
        parse_client_message(frame.encode(), max_bytes=1000)  # fits 1000 as characters, not as bytes
    assert caught.value.code is ErrorCode.TOO_LARGE and "1000" in caught.value.message
