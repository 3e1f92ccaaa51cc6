"""The echo worker's pipe protocol: each message survives its line, and a bad line is named."""

from __future__ import annotations

import pytest

from media.echo_wire import (
    EchoAnswer,
    EchoClosed,
    EchoRefused,
    Refusal,
    StartEcho,
    StopEcho,
    WorkerReply,
    WorkerRequest,
    dump_line,
    parse_reply,
    parse_request,
)
from signaling.messages import IceServer

TURN = IceServer(urls=["turn:127.0.0.1:3478"], username="1700000000:r.guest", credential="c")


@pytest.mark.parametrize(
    "request_",
    [
        StartEcho(id=1, sdp="v=0\r\n", ice_servers=[]),
        StartEcho(id=2, sdp="v=0\r\n", ice_servers=[TURN, IceServer(urls=["stun:127.0.0.1:3478"])]),
        StopEcho(id=3),
    ],
)
def test_requests_survive_their_line(request_: WorkerRequest) -> None:
    line = dump_line(request_)
    assert line.endswith(b"\n") and line.count(b"\n") == 1  # SDP's CRLFs are escaped
    assert parse_request(line) == request_


@pytest.mark.parametrize(
    "reply",
    [
        EchoAnswer(id=1, sdp="v=0\r\na=candidate:1 1 udp 1 10.0.0.1 9 typ host\r\n"),
        EchoRefused(id=2, reason=Refusal.BUSY, message="4 connection tests are running; at most 4 at once"),
        EchoRefused(id=3, reason=Refusal.INVALID, message="ICE username fragment or password is missing"),
        EchoClosed(id=4),
    ],
)
def test_replies_survive_their_line(reply: WorkerReply) -> None:
    assert parse_reply(dump_line(reply)) == reply


@pytest.mark.parametrize(
    ("line", "names"),
    [
        (b"not json", "line: Invalid JSON"),
        (b'{"type": "launch", "id": 1}', "does not match any of the expected tags"),
        (b'{"type": "start", "id": 1, "sdp": "v=0"}', "start.ice_servers: Field required"),
        (b'{"type": "stop", "id": 1, "extra": 2}', "stop.extra: Extra inputs are not permitted"),
        (b'{"type": "closed", "id": 1}', "does not match any of the expected tags"),  # a reply, not a request
    ],
)
def test_a_bad_request_line_is_named(line: bytes, names: str) -> None:
    with pytest.raises(ValueError, match="expected one echo worker message a line") as raised:
        parse_request(line)
    assert names in str(raised.value)


def test_a_bad_reply_line_is_named() -> None:
    with pytest.raises(ValueError, match=r"refused\.reason"):
        parse_reply(b'{"type": "refused", "id": 1, "reason": "tired", "message": "x"}')
