"""The room rules as whole transition lists: inputs in, actions out, the clock passed in."""

from __future__ import annotations

import pytest

from signaling.events import Expired, Joined, LeaveData, Left, Reconnected, Reconnecting
from signaling.messages import (
    Answer,
    Bye,
    Candidate,
    CloseCode,
    Error,
    ErrorCode,
    IceCandidate,
    Join,
    Offer,
    PeerBack,
    PeerInfo,
    PeerJoined,
    PeerLeft,
    PeerReconnecting,
    Ping,
    Pong,
    Role,
    RoomInfo,
    Welcome,
)
from signaling.room import Action, Close, IllegalTransition, Record, Room, RoomPhase, Send

HOST, GUEST, HOST2 = 1, 2, 3
ANA_HERE = PeerInfo(role=Role.HOST, name="Ana", present=True)
BEN_HERE = PeerInfo(role=Role.GUEST, name="Ben", present=True)
ANA_GONE = PeerInfo(role=Role.HOST, name="Ana", present=False)
BEN_GONE = PeerInfo(role=Role.GUEST, name="Ben", present=False)
CAND = Candidate(candidate=IceCandidate(candidate="candidate:1 1 udp 1 198.18.0.1 9 typ host", sdp_mid="0"))


def make_room(expires_at: float = 10_000.0, grace: float = 0.0) -> Room:
    return Room(
        reconnect_grace_s=grace,
        room_id="r1",
        title="Mentoring",
        host_name="Ana",
        guest_name="Ben",
        expires_at=expires_at,
        ice_servers=[],
        ping_interval_s=10,
    )


def welcome(you: PeerInfo, peer: PeerInfo, polite: bool, resumed: bool = False) -> Welcome:
    return Welcome(
        resumed=resumed,
        room=RoomInfo(id="r1", title="Mentoring"),
        you=you,
        peer=peer,
        polite=polite,
        ice_servers=[],
        ping_interval_s=10,
    )


def both_in(room: Room) -> None:
    room.join(HOST, Role.HOST, 0)
    room.join(GUEST, Role.GUEST, 1)


def test_a_whole_call() -> None:
    room = make_room()
    steps: list[list[Action]] = [
        room.join(HOST, Role.HOST, 0),
        room.join(GUEST, Role.GUEST, 1),
        room.handle(HOST, Offer(sdp="o"), 2),
        room.handle(GUEST, Answer(sdp="a"), 3),
        room.handle(GUEST, CAND, 3),
        room.handle(HOST, Ping(id=1), 4),
        room.handle(GUEST, Bye(), 5),
    ]
    assert steps == [
        [Send(HOST, welcome(ANA_HERE, BEN_GONE, polite=False)), Record(Joined(role=Role.HOST))],
        [
            Send(GUEST, welcome(BEN_HERE, ANA_HERE, polite=True)),
            Record(Joined(role=Role.GUEST)),
            Send(HOST, PeerJoined(peer=BEN_HERE)),
        ],
        [Send(GUEST, Offer(sdp="o"))],
        [Send(HOST, Answer(sdp="a"))],
        [Send(HOST, CAND)],
        [Send(HOST, Pong(id=1))],
        [
            Close(GUEST, CloseCode.NORMAL, "bye"),
            Send(HOST, PeerLeft(peer=BEN_GONE, reason="bye")),
            Record(Left(role=Role.GUEST, data=LeaveData(reason="bye"))),
        ],
    ]
    assert room.phase is RoomPhase.WAITING


def test_phases() -> None:
    room = make_room()
    phases = [room.phase]
    room.join(HOST, Role.HOST, 0)
    phases.append(room.phase)
    room.join(GUEST, Role.GUEST, 0)
    phases.append(room.phase)
    room.disconnect(HOST, 1)
    phases.append(room.phase)
    room.close(ErrorCode.ROOM_ENDED, "over")
    phases.append(room.phase)
    assert phases == [
        RoomPhase.WAITING,
        RoomPhase.WAITING,
        RoomPhase.LIVE,
        RoomPhase.WAITING,
        RoomPhase.CLOSED,
    ]


def test_same_role_replaces_and_peer_renegotiates() -> None:
    room = make_room()
    both_in(room)
    assert room.join(HOST2, Role.HOST, 5) == [
        Send(HOST, Error(code=ErrorCode.REPLACED, message="You joined from another tab or device.")),
        Close(HOST, CloseCode.REPLACED, "replaced by a newer connection"),
        Send(HOST2, welcome(ANA_HERE, BEN_HERE, polite=False)),
        Record(Reconnected(role=Role.HOST)),
        Send(GUEST, PeerJoined(peer=ANA_HERE, rejoined=True)),
    ]
    # The old socket's close arrives later and changes nothing.
    assert room.disconnect(HOST, 6) == []
    assert room.conn_of(Role.HOST) == HOST2 and room.phase is RoomPhase.LIVE


@pytest.mark.parametrize(
    ("sender", "message", "expected"),
    [
        (GUEST, Answer(sdp="a"), ErrorCode.OUT_OF_ORDER),  # an answer before any offer
        (HOST, Answer(sdp="a"), ErrorCode.OUT_OF_ORDER),
        (GUEST, CAND, ErrorCode.OUT_OF_ORDER),  # a candidate before any offer
        (HOST, Join(token="t"), ErrorCode.ALREADY_JOINED),
    ],
)
def test_out_of_order_gets_an_error_and_changes_nothing(
    sender: int, message: object, expected: ErrorCode
) -> None:
    room = make_room()
    both_in(room)
    actions = room.handle(sender, message, 2)  # type: ignore[arg-type]
    assert len(actions) == 1 and isinstance(actions[0], Send) and actions[0].conn == sender
    assert isinstance(actions[0].message, Error) and actions[0].message.code is expected
    # Negotiation still works afterwards.
    assert room.handle(HOST, Offer(sdp="o"), 3) == [Send(GUEST, Offer(sdp="o"))]
    assert room.handle(GUEST, Answer(sdp="a"), 4) == [Send(HOST, Answer(sdp="a"))]


def test_answer_consumes_the_offer() -> None:
    room = make_room()
    both_in(room)
    room.handle(HOST, Offer(sdp="o"), 2)
    room.handle(GUEST, Answer(sdp="a"), 3)
    [action] = room.handle(GUEST, Answer(sdp="a2"), 4)
    assert isinstance(action, Send) and action.message.code is ErrorCode.OUT_OF_ORDER  # type: ignore[union-attr]


def test_glare_both_offers_relayed_either_answer_accepted() -> None:
    room = make_room()
    both_in(room)
    assert room.handle(HOST, Offer(sdp="h"), 2) == [Send(GUEST, Offer(sdp="h"))]
    assert room.handle(GUEST, Offer(sdp="g"), 2) == [Send(HOST, Offer(sdp="g"))]
    # The polite guest rolls back and answers the host's offer.
    assert room.handle(GUEST, Answer(sdp="a"), 3) == [Send(HOST, Answer(sdp="a"))]


def test_alone_in_the_room() -> None:
    room = make_room()
    room.join(HOST, Role.HOST, 0)
    [action] = room.handle(HOST, Offer(sdp="o"), 1)
    assert isinstance(action, Send) and action.message == Error(
        code=ErrorCode.PEER_ABSENT, message="Ben is not here yet."
    )
    assert room.handle(HOST, CAND, 1) == []  # late candidates are dropped silently


def test_new_pairing_resets_negotiation() -> None:
    room = make_room()
    both_in(room)
    room.handle(HOST, Offer(sdp="o"), 2)
    room.disconnect(GUEST, 3)
    room.join(GUEST + 10, Role.GUEST, 4)
    [action] = room.handle(GUEST + 10, Answer(sdp="stale"), 5)
    assert isinstance(action, Send) and action.message.code is ErrorCode.OUT_OF_ORDER  # type: ignore[union-attr]


def test_heartbeat_timeout_drops_only_the_silent_socket() -> None:
    room = make_room()
    both_in(room)  # host seen at 0, guest at 1; limit is 3 x 10 s
    room.handle(HOST, Ping(), 25)
    assert room.tick(30, wall=30) == []
    assert room.tick(31.5, wall=31.5) == [
        Close(GUEST, CloseCode.HEARTBEAT_TIMEOUT, "timeout"),
        Send(HOST, PeerLeft(peer=BEN_GONE, reason="timeout")),
        Record(Left(role=Role.GUEST, data=LeaveData(reason="timeout"))),
    ]
    assert room.tick(50, wall=50) == []  # host pinged at 25: 25 s of silence is still within the limit


def test_expiry_closes_everyone() -> None:
    room = make_room(expires_at=100)
    both_in(room)
    room.handle(HOST, Ping(), 90)
    room.handle(GUEST, Ping(), 90)
    assert room.tick(99, wall=99) == []
    assert room.tick(100, wall=100) == [
        Send(HOST, Error(code=ErrorCode.ROOM_EXPIRED, message="This session has expired.")),
        Close(HOST, CloseCode.ROOM_EXPIRED, "This session has expired."),
        Send(GUEST, Error(code=ErrorCode.ROOM_EXPIRED, message="This session has expired.")),
        Close(GUEST, CloseCode.ROOM_EXPIRED, "This session has expired."),
        Record(Expired()),
    ]
    assert room.is_empty and room.tick(101, wall=101) == []


def test_timers_follow_the_room_clock_and_expiry_the_wall_clock() -> None:
    """A wall clock stepped forward by an hour drops nobody; a room expires on the calendar even if
    the monotonic clock has barely moved."""
    room = make_room(expires_at=5_000)
    both_in(room)
    assert room.tick(2, wall=4_999) == []  # the wall clock jumped: heartbeats are on the room clock
    assert room.tick(3, wall=5_000)[-1] == Record(Expired())  # expired on the calendar
    assert room.is_empty


def test_illegal_transitions_raise_with_expected_and_actual() -> None:
    room = make_room()
    with pytest.raises(IllegalTransition, match="expected a connection seated in room r1, got 9"):
        room.handle(9, Ping(), 0)
    room.close(ErrorCode.ROOM_ENDED, "over")
    with pytest.raises(IllegalTransition, match="expected room r1 to be open, got closed"):
        room.join(HOST, Role.HOST, 0)


BEN_AWAY = PeerInfo(role=Role.GUEST, name="Ben", present=False, reconnecting=True)
ANA_AWAY = PeerInfo(role=Role.HOST, name="Ana", present=False, reconnecting=True)
GUEST2 = 4


def test_a_dropped_socket_is_held_and_resumes_without_renegotiating() -> None:
    room = make_room(grace=20)
    both_in(room)
    room.handle(HOST, Offer(sdp="o"), 2)
    room.handle(GUEST, Answer(sdp="a"), 3)
    steps = [
        room.disconnect(GUEST, 10),
        room.handle(HOST, Offer(sdp="o2"), 11),
        room.handle(HOST, CAND, 11),
        room.tick(29.9, wall=29.9),
        room.join(GUEST2, Role.GUEST, 29.9, resume=True),
        room.handle(GUEST2, Offer(sdp="renegotiate"), 31),
    ]
    assert steps == [
        [
            Send(HOST, PeerReconnecting(peer=BEN_AWAY)),
            Record(Reconnecting(role=Role.GUEST, data=LeaveData(reason="closed"))),
        ],
        [Send(HOST, Error(code=ErrorCode.PEER_ABSENT, message="Ben is not here yet."))],
        [],  # a candidate for a peer that is away is dropped
        [],  # still within the grace period
        [
            Send(GUEST2, welcome(BEN_HERE, ANA_HERE, polite=True, resumed=True)),
            Record(Reconnected(role=Role.GUEST)),
            Send(HOST, PeerBack(peer=BEN_HERE)),
        ],
        [Send(HOST, Offer(sdp="renegotiate"))],
    ]
    assert room.phase is RoomPhase.LIVE


def test_phases_while_a_seat_is_held() -> None:
    room = make_room(grace=20)
    both_in(room)
    seen = [(room.phase, room.anyone_connected, room.is_empty)]
    room.disconnect(GUEST, 2)
    seen.append((room.phase, room.anyone_connected, room.is_empty))
    room.disconnect(HOST, 3)
    seen.append((room.phase, room.anyone_connected, room.is_empty))
    room.tick(23, wall=23)
    seen.append((room.phase, room.anyone_connected, room.is_empty))
    assert seen == [
        (RoomPhase.LIVE, True, False),
        (RoomPhase.WAITING, True, False),
        (RoomPhase.WAITING, False, False),  # both held: the edge keeps the room
        (RoomPhase.WAITING, False, True),
    ]


def test_the_grace_period_passes_then_peer_left() -> None:
    room = make_room(grace=20)
    both_in(room)
    room.handle(HOST, Ping(), 25)
    assert room.tick(31.5, wall=31.5) == [  # the guest went silent at 1: three pings missed
        Close(GUEST, CloseCode.HEARTBEAT_TIMEOUT, "timeout"),
        Send(HOST, PeerReconnecting(peer=BEN_AWAY)),
        Record(Reconnecting(role=Role.GUEST, data=LeaveData(reason="timeout"))),
    ]
    room.handle(HOST, Ping(), 45)
    assert room.tick(51.4, wall=51.4) == []
    assert room.tick(51.5, wall=51.5) == [
        Send(HOST, PeerLeft(peer=BEN_GONE, reason="timeout")),
        Record(Left(role=Role.GUEST, data=LeaveData(reason="timeout"))),
    ]
    # Coming back now is a fresh join: the host starts a fresh peer connection and offers.
    assert room.join(GUEST2, Role.GUEST, 52, resume=True) == [
        Send(GUEST2, welcome(BEN_HERE, ANA_HERE, polite=True)),
        Record(Joined(role=Role.GUEST)),
        Send(HOST, PeerJoined(peer=BEN_HERE, rejoined=True)),
    ]


def test_coming_back_without_a_live_peer_connection_starts_over() -> None:
    room = make_room(grace=20)
    both_in(room)
    room.disconnect(GUEST, 2)
    assert room.join(GUEST2, Role.GUEST, 3) == [  # a reloaded page: no resume
        Send(GUEST2, welcome(BEN_HERE, ANA_HERE, polite=True)),
        Record(Joined(role=Role.GUEST)),
        Send(HOST, PeerJoined(peer=BEN_HERE, rejoined=True)),
    ]


def test_a_side_that_started_over_ends_the_others_resume() -> None:
    room = make_room(grace=20)
    both_in(room)
    room.disconnect(GUEST, 2)
    room.disconnect(HOST, 2)
    steps = [
        room.join(HOST2, Role.HOST, 3),  # the host reloaded its page: its old pairing is gone
        room.join(GUEST2, Role.GUEST, 4, resume=True),  # so the guest's resume is refused
    ]
    assert steps == [
        [Send(HOST2, welcome(ANA_HERE, BEN_AWAY, polite=False)), Record(Joined(role=Role.HOST))],
        [
            Send(GUEST2, welcome(BEN_HERE, ANA_HERE, polite=True)),
            Record(Joined(role=Role.GUEST)),
            Send(HOST2, PeerJoined(peer=BEN_HERE, rejoined=True)),
        ],
    ]


def test_after_a_server_restart_both_rejoins_resume() -> None:
    room = make_room(grace=20)  # a fresh process loaded the room; the events say both were here
    room.restore({Role.HOST, Role.GUEST}, 100)
    steps = [
        room.join(HOST2, Role.HOST, 101, resume=True),
        room.join(GUEST2, Role.GUEST, 101.5, resume=True),
    ]
    assert steps == [
        [
            Send(HOST2, welcome(ANA_HERE, BEN_AWAY, polite=False, resumed=True)),
            Record(Reconnected(role=Role.HOST)),
        ],
        [
            Send(GUEST2, welcome(BEN_HERE, ANA_HERE, polite=True, resumed=True)),
            Record(Reconnected(role=Role.GUEST)),
            Send(HOST2, PeerBack(peer=BEN_HERE)),
        ],
    ]
    assert room.phase is RoomPhase.LIVE


def test_a_restored_seat_nobody_reclaims_leaves_after_the_grace_period() -> None:
    room = make_room(grace=20)
    room.restore({Role.HOST, Role.GUEST}, 100)
    room.join(HOST2, Role.HOST, 101, resume=True)
    assert room.tick(120, wall=120) == [
        Send(HOST2, PeerLeft(peer=BEN_GONE, reason="closed")),
        Record(Left(role=Role.GUEST, data=LeaveData(reason="closed"))),
    ]


def test_resume_over_a_socket_the_server_still_thinks_alive() -> None:
    room = make_room(grace=20)
    both_in(room)
    assert room.join(GUEST2, Role.GUEST, 5, resume=True) == [
        Send(GUEST, Error(code=ErrorCode.REPLACED, message="You joined from another tab or device.")),
        Close(GUEST, CloseCode.REPLACED, "replaced by a newer connection"),
        Send(GUEST2, welcome(BEN_HERE, ANA_HERE, polite=True, resumed=True)),
        Record(Reconnected(role=Role.GUEST)),
    ]
