"""What the server and its echo worker process say to each other, defined once, as data.

The server (``app/echo_process.py``) writes requests to the worker's stdin and the worker
(``media/echo_worker.py``) writes replies to its stdout: one JSON object a line, a ``type`` on each.
A test is named by an ``id`` the server chose, unique for the worker's life.

- ``start``: run an echo peer for this complete offer, gathering with these ICE servers;
- ``stop``: end that test now (its request was abandoned);
- ``answer``: the echo peer's answer SDP, with all its candidates; the test is running;
- ``refused``: no echo peer for that offer, and why (``busy``, ``invalid``, ``failed``);
- ``closed``: that test's peer has closed (its time limit, its connection, or a ``stop``).
"""

from __future__ import annotations

import enum
from typing import Annotated, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from signaling.messages import IceServer

__all__ = [
    "MAX_LINE_BYTES",
    "EchoAnswer",
    "EchoClosed",
    "EchoRefused",
    "Refusal",
    "StartEcho",
    "StopEcho",
    "WorkerReply",
    "WorkerRequest",
    "dump_line",
    "parse_reply",
    "parse_request",
]

MAX_LINE_BYTES = 1024 * 1024
"""Longest line either side reads, in bytes: an offer is at most 64 KiB of SDP (the check route's
limit), a little more once escaped as JSON."""


class _Line(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class StartEcho(_Line):
    """Run an echo peer for a complete offer (no trickle)."""

    type: Literal["start"] = "start"
    id: int
    sdp: str
    ice_servers: list[IceServer]
    """The servers the peer gathers with: always the explicit list, possibly empty (aiortc would
    otherwise contact a public STUN server)."""


class StopEcho(_Line):
    """End a test now; a test the worker does not know (already closed or refused) is ignored."""

    type: Literal["stop"] = "stop"
    id: int


class Refusal(enum.StrEnum):
    """Why the worker started no echo peer."""

    BUSY = "busy"
    """Its own cap on concurrent peers was reached."""
    INVALID = "invalid"
    """aiortc could not parse or use the offer."""
    FAILED = "failed"
    """Anything else went wrong (the worker's log has the traceback)."""


class EchoAnswer(_Line):
    """The echo peer's answer SDP, with all its candidates; the test is running."""

    type: Literal["answer"] = "answer"
    id: int
    sdp: str


class EchoRefused(_Line):
    """No echo peer for that ``start``."""

    type: Literal["refused"] = "refused"
    id: int
    reason: Refusal
    message: str


class EchoClosed(_Line):
    """That test's echo peer has closed; it no longer counts against the cap."""

    type: Literal["closed"] = "closed"
    id: int


WorkerRequest = Annotated[StartEcho | StopEcho, Field(discriminator="type")]
WorkerReply = Annotated[EchoAnswer | EchoRefused | EchoClosed, Field(discriminator="type")]

_M = TypeVar("_M")

_request_adapter: TypeAdapter[WorkerRequest] = TypeAdapter(WorkerRequest)
_reply_adapter: TypeAdapter[WorkerReply] = TypeAdapter(WorkerReply)


def dump_line(message: WorkerRequest | WorkerReply) -> bytes:
    """One message as its line: compact JSON and a newline."""
    return message.model_dump_json().encode() + b"\n"


def _parse(adapter: TypeAdapter[_M], line: bytes) -> _M:
    try:
        return adapter.validate_json(line)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "line"
        raise ValueError(
            f"expected one echo worker message a line, got {line[:80]!r} ({where}: {first['msg']})"
        ) from None


def parse_request(line: bytes) -> WorkerRequest:
    """A line the server wrote; raises :class:`ValueError` naming what is wrong."""
    return _parse(_request_adapter, line)


def parse_reply(line: bytes) -> WorkerReply:
    """A line the worker wrote; raises :class:`ValueError` naming what is wrong."""
    return _parse(_reply_adapter, line)
