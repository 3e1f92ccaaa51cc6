"""The signaling wire protocol, defined once, as data.

Every frame is one JSON object with a ``type``. Each type is one pydantic model;
client and server frames are two discriminated unions on ``type``. Field names
on the wire are camelCase, the names WebRTC itself uses (``sdp``, ``candidate``,
``sdpMid``, ``sdpMLineIndex``, ``iceServers``) so a browser can pass them
straight to ``RTCPeerConnection``. ``docs/protocol.md`` documents the same.

This module and ``signaling.stats`` are leaves: they import nothing else from duet, so the
server, the headless participant and the tests all speak exactly the same protocol.
"""

from __future__ import annotations

import enum
from typing import Annotated, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError
from pydantic.alias_generators import to_camel

from signaling.stats import MAX_STATS_BYTES, AudioLevel, CallMode, Stats, VideoLevel

__all__ = [
    "MAX_FRAME_BYTES",
    "PROTOCOL_VERSION",
    "Answer",
    "AudioLevel",
    "BackupPlan",
    "Bye",
    "CallMode",
    "Candidate",
    "ClientMessage",
    "CloseCode",
    "Decide",
    "Error",
    "ErrorCode",
    "IceCandidate",
    "IceServer",
    "IceServersUpdate",
    "Join",
    "LinkReport",
    "ModeChanged",
    "Offer",
    "PeerBack",
    "PeerInfo",
    "PeerJoined",
    "PeerLeft",
    "PeerReconnecting",
    "PhoneLeg",
    "Ping",
    "Pong",
    "ProtocolError",
    "Quality",
    "Role",
    "RoomInfo",
    "ServerMessage",
    "SetMode",
    "Stats",
    "Suggest",
    "VideoLevel",
    "Welcome",
    "Withdraw",
    "dump_message",
    "parse_client_message",
    "parse_server_message",
]

PROTOCOL_VERSION = 1
"""Version carried in ``join`` and ``welcome``; a server refuses versions it does not speak."""

MAX_FRAME_BYTES = 64 * 1024
"""Largest frame a server accepts (bytes of UTF-8). A full SDP offer with audio,
video and a data channel is 5-12 KB in Chromium, so 64 KiB leaves ample room."""


class Role(enum.StrEnum):
    """The two seats of a room."""

    HOST = "host"
    GUEST = "guest"

    @property
    def other(self) -> Role:
        return Role.GUEST if self is Role.HOST else Role.HOST


class ErrorCode(enum.StrEnum):
    """Stable ``code`` values of ``error`` frames."""

    INVALID_JSON = "invalid_json"
    INVALID_MESSAGE = "invalid_message"
    UNKNOWN_TYPE = "unknown_type"
    TOO_LARGE = "too_large"
    UNSUPPORTED_VERSION = "unsupported_version"
    NOT_JOINED = "not_joined"
    ALREADY_JOINED = "already_joined"
    OUT_OF_ORDER = "out_of_order"
    PEER_ABSENT = "peer_absent"
    UNAUTHORIZED = "unauthorized"
    ROOM_NOT_FOUND = "room_not_found"
    ROOM_ENDED = "room_ended"
    ROOM_EXPIRED = "room_expired"
    TOO_EARLY = "too_early"
    REPLACED = "replaced"
    JOIN_TIMEOUT = "join_timeout"
    HEARTBEAT_TIMEOUT = "heartbeat_timeout"
    UNKNOWN_SUGGESTION = "unknown_suggestion"
    SLOW_CONSUMER = "slow_consumer"
    RATE_LIMITED = "rate_limited"
    UNAVAILABLE = "unavailable"


class CloseCode(enum.IntEnum):
    """WebSocket close codes the server uses (4000-4999 is the application range)."""

    NORMAL = 1000
    SERVICE_RESTART = 1012
    """The server is shutting down or restarting: reconnect (with backoff) and resume."""
    TRY_AGAIN_LATER = 1013
    """The server could not admit the join just now (its database did not answer in time):
    reconnect with backoff."""
    UNAUTHORIZED = 4001
    ROOM_NOT_FOUND = 4004
    JOIN_TIMEOUT = 4008
    REPLACED = 4009
    ROOM_ENDED = 4010
    ROOM_EXPIRED = 4011
    HEARTBEAT_TIMEOUT = 4012
    TOO_EARLY = 4013
    UNSUPPORTED_VERSION = 4014
    SLOW_CONSUMER = 4015
    """The client did not read its frames in time: reconnect. (Usually seen as 1006: a client that
    does not read cannot take the close frame either, so the connection is dropped.)"""
    RATE_LIMITED = 4016
    """The client kept sending faster than the limits (signaling/rate_limit.py), or joined with the
    same link too often: reconnect later, with backoff."""


class ProtocolError(ValueError):
    """A frame that cannot be accepted; ``code`` is what the ``error`` frame carries."""

    def __init__(self, code: ErrorCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class _Wire(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="ignore",
        frozen=True,
    )


# --- value objects -----------------------------------------------------------


class IceCandidate(_Wire):
    """``RTCIceCandidateInit``: one trickled ICE candidate."""

    candidate: str = Field(max_length=1024)
    sdp_mid: str | None = Field(default=None, max_length=64)
    sdp_m_line_index: int | None = Field(default=None, alias="sdpMLineIndex", ge=0, le=64)
    username_fragment: str | None = Field(default=None, max_length=256)


class IceServer(_Wire):
    """``RTCIceServer``: a STUN or TURN server the client may use."""

    urls: list[str]
    username: str | None = None
    credential: str | None = None


class PeerInfo(_Wire):
    """Who sits in a seat of the room."""

    role: Role
    name: str
    present: bool = False
    reconnecting: bool = False
    """Their socket dropped without ``bye``; the room holds their seat for the reconnect grace period."""


class RoomInfo(_Wire):
    """What a participant needs to know about the room."""

    id: str
    title: str


class BackupPlan(_Wire):
    """Phone details agreed before the call (the seed's "backup plan")."""

    peer_phone: str | None = None
    """The other person's number, only when they agreed to share it (E.164)."""
    dial_in: str | None = None
    """The deployment's phone bridge number (E.164), when it has one."""
    pin: str | None = None
    """The room's PIN on the phone bridge."""
    dial_in_link: str | None = None
    """One-tap ``tel:`` link that dials in and enters the PIN (``tel:+…,,PIN#``)."""


# --- client -> server ---------------------------------------------------------


class Join(_Wire):
    """First frame on a socket: proves who the participant is with its join token."""

    type: Literal["join"] = "join"
    v: int = PROTOCOL_VERSION
    token: str = Field(max_length=4096)
    resume: bool = False
    """I am coming back after losing my socket and my peer connection is still alive: if the room
    still holds my seat (the reconnect grace period), keep the pairing instead of starting over."""


class Offer(_Wire):
    """An SDP offer for the other participant (relayed unchanged)."""

    type: Literal["offer"] = "offer"
    sdp: str = Field(max_length=MAX_FRAME_BYTES)


class Answer(_Wire):
    """An SDP answer to the other participant's offer (relayed unchanged)."""

    type: Literal["answer"] = "answer"
    sdp: str = Field(max_length=MAX_FRAME_BYTES)


class Candidate(_Wire):
    """A trickled ICE candidate; ``null`` marks the end of candidates."""

    type: Literal["candidate"] = "candidate"
    candidate: IceCandidate | None


class Bye(_Wire):
    """The participant leaves on purpose (hang up)."""

    type: Literal["bye"] = "bye"


class Ping(_Wire):
    """Keep-alive; the server answers ``pong`` with the same ``id``."""

    type: Literal["ping"] = "ping"
    id: int | None = None


# --- server -> client ---------------------------------------------------------


class Pong(_Wire):
    """Answer to ``ping``."""

    type: Literal["pong"] = "pong"
    id: int | None = None


class Welcome(_Wire):
    """Answer to a valid ``join``: who you are, who the other is, how to connect."""

    type: Literal["welcome"] = "welcome"
    v: int = PROTOCOL_VERSION
    room: RoomInfo
    you: PeerInfo
    peer: PeerInfo
    polite: bool
    """True for the polite peer of perfect negotiation (it yields on glare)."""
    ice_servers: list[IceServer]
    ping_interval_s: float
    """Seconds between the client's ``ping`` frames; the server drops a socket
    that stays silent for three intervals."""
    stats_interval_s: float = 2.0
    """Seconds between the client's ``stats`` reports."""
    mode: CallMode = CallMode.VIDEO
    """The call's current mode (a participant who rejoins an audio-only call stays audio-only)."""
    backup: BackupPlan | None = None
    """How the two can reach each other by phone if the internet fails."""
    resumed: bool = False
    """The ``join`` asked to ``resume`` and the room still held this seat: keep the existing peer
    connection (the other side was told ``peer-back``, not ``peer-joined``)."""


class PeerJoined(_Wire):
    """The other participant joined (or came back): the one already there offers."""

    type: Literal["peer-joined"] = "peer-joined"
    peer: PeerInfo
    rejoined: bool = False


class PeerReconnecting(_Wire):
    """The other participant's socket dropped without ``bye``: their seat is held for the reconnect
    grace period. Keep the peer connection (media may well still flow); ``peer-back`` or ``peer-left``
    follows."""

    type: Literal["peer-reconnecting"] = "peer-reconnecting"
    peer: PeerInfo


class PeerBack(_Wire):
    """The other participant reconnected within the grace period and resumed: keep the peer
    connection (offer from scratch only if yours is no longer alive)."""

    type: Literal["peer-back"] = "peer-back"
    peer: PeerInfo


class PeerLeft(_Wire):
    """The other participant left; ``reason`` is ``bye``, ``closed`` or ``timeout``."""

    type: Literal["peer-left"] = "peer-left"
    peer: PeerInfo
    reason: Literal["bye", "closed", "timeout"]


class Decide(_Wire):
    """Client → server: my answer to a ``suggest``."""

    type: Literal["decide"] = "decide"
    id: str = Field(max_length=64)
    accept: bool


class SetMode(_Wire):
    """Client → server: I switch the call by hand (the audio-only button, camera back on)."""

    type: Literal["set-mode"] = "set-mode"
    mode: CallMode


class LinkReport(_Wire):
    """One person's uplink, in words and numbers."""

    audio: AudioLevel
    video: VideoLevel
    mos: float | None = None
    video_score: float | None = None
    """0-100."""
    problems: list[str] = Field(default_factory=list)


class Quality(_Wire):
    """Server → client every report: my uplink (``you``) and the other's (``peer``)."""

    type: Literal["quality"] = "quality"
    you: LinkReport
    peer: LinkReport


class Suggest(_Wire):
    """Server → client: "Your video is lagging. Switch to audio only?" Answer with ``decide``."""

    type: Literal["suggest"] = "suggest"
    id: str
    mode: CallMode
    reason: str
    """The question, in words, for this person."""
    at_fault: Role | None = None
    backup: BackupPlan | None = None
    """With ``mode: phone``: how to call."""


class Withdraw(_Wire):
    """Server → client: a pending suggestion no longer applies; hide the prompt."""

    type: Literal["withdraw"] = "withdraw"
    id: str


class ModeChanged(_Wire):
    """Server → both clients: the call is now in ``mode``; everyone follows (video senders stop in
    audio-only and phone, start again in video)."""

    type: Literal["mode"] = "mode"
    mode: CallMode
    by: Role | None = None
    """Who switched; ``null`` when the room's policy switched by itself."""
    reason: str


class PhoneLeg(_Wire):
    """Server → both clients: someone's phone call on the room's phone bridge changed
    ("Ana joined by phone"). Sent again, as ``joined``, to a socket that joins while someone is on the phone.
    """

    type: Literal["phone"] = "phone"
    role: Role
    name: str
    state: Literal["calling", "joined", "left", "failed"]
    """``calling``: duet is ringing their phone ("call me"); ``joined``: they are in the phone conference;
    ``left``: they hung up; ``failed``: the call was not answered or could not be placed."""
    on_phone: list[Role] = Field(default_factory=list)
    """Everyone in the phone conference now; both roles means both people are talking by phone."""
    unknown_number: bool = False
    """With ``joined``: the call came in on the dial-in number from a number other than the one given
    for this person (someone else may have their PIN); the other person is told so."""


class IceServersUpdate(_Wire):
    """Fresh ICE servers for this participant (new TURN credentials, sent before the old expire).

    The running peer connection is unaffected (TURN servers accept refreshes of an allocation made
    with a credential that has since expired); the next ICE restart or peer connection uses these.
    """

    type: Literal["ice-servers"] = "ice-servers"
    ice_servers: list[IceServer]


class Error(_Wire):
    """Something the client sent was refused, or the socket is about to close."""

    type: Literal["error"] = "error"
    code: ErrorCode
    message: str


ClientMessage = Annotated[
    Join | Offer | Answer | Candidate | Bye | Ping | Stats | Decide | SetMode, Field(discriminator="type")
]
ServerMessage = Annotated[
    Welcome
    | PeerJoined
    | PeerLeft
    | PeerReconnecting
    | PeerBack
    | Offer
    | Answer
    | Candidate
    | Bye
    | Pong
    | Quality
    | Suggest
    | Withdraw
    | ModeChanged
    | PhoneLeg
    | IceServersUpdate
    | Error,
    Field(discriminator="type"),
]

_M = TypeVar("_M")

_client_adapter: TypeAdapter[ClientMessage] = TypeAdapter(ClientMessage)
_server_adapter: TypeAdapter[ServerMessage] = TypeAdapter(ServerMessage)


def _clip(value: object, limit: int = 40) -> str:
    """A client's value quoted in an error, cut short: an error never echoes a whole frame back."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _parse(adapter: TypeAdapter[_M], text: str | bytes, max_bytes: int) -> _M:
    size = len(text.encode() if isinstance(text, str) else text)
    if size > max_bytes:
        raise ProtocolError(ErrorCode.TOO_LARGE, f"frame is {size} bytes; the limit is {max_bytes}")
    try:
        message = adapter.validate_json(text)
    except ValidationError as exc:
        first = exc.errors()[0]
        kind = first["type"]
        if kind == "json_invalid":
            raise ProtocolError(ErrorCode.INVALID_JSON, "frame is not valid JSON") from None
        if kind == "union_tag_invalid":
            raise ProtocolError(
                ErrorCode.UNKNOWN_TYPE, f"unknown message type {_clip(first['input'].get('type'))}"
            ) from None
        if kind in {"union_tag_not_found", "model_attributes_type"} and not first["loc"]:
            raise ProtocolError(
                ErrorCode.INVALID_MESSAGE, "a frame must be a JSON object with a 'type'"
            ) from None
        where = ".".join(str(part) for part in first["loc"][1:]) or "frame"
        raise ProtocolError(ErrorCode.INVALID_MESSAGE, f"{where}: {first['msg']}") from None
    if isinstance(message, Stats) and size > MAX_STATS_BYTES:
        raise ProtocolError(
            ErrorCode.TOO_LARGE, f"a stats frame is {size} bytes; the limit is {MAX_STATS_BYTES}"
        )
    return message


def parse_client_message(text: str | bytes, max_bytes: int = MAX_FRAME_BYTES) -> ClientMessage:
    """Parse one frame a client sent; raises :class:`ProtocolError` with a precise code."""
    return _parse(_client_adapter, text, max_bytes)


def parse_server_message(text: str | bytes, max_bytes: int = 4 * MAX_FRAME_BYTES) -> ServerMessage:
    """Parse one frame a server sent (used by the headless participant)."""
    return _parse(_server_adapter, text, max_bytes)


def dump_message(message: BaseModel) -> str:
    """Serialise any protocol message to its wire JSON (camelCase, no nulls dropped)."""
    return message.model_dump_json(by_alias=True)
