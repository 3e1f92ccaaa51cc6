"""The pre-call connection test, for anyone holding a join link (docs/protocol.md, "Pre-call test").

1. ``POST /s/{room_id}/check/config``: the ICE servers to gather with (TURN credentials included)
   and how long to measure;
2. ``POST /s/{room_id}/check``: a complete offer; a server-side echo peer answers and sends back
   what it receives. One test at a time per join link (room and role), so one link cannot take every
   place; the offer's candidates at addresses the server must not contact are dropped
   (``media/remote_candidates.py``);
3. ``POST /s/{room_id}/check/verdict``: what the client measured (or which candidates it gathered
   when it could not connect) in, the verdict in words out; that link's test is over, and its echo
   peer stops. One verdict function serves the page and ``duet check``.

``GET /s/{room_id}/check`` and ``GET /check`` serve the page (the token stays in the fragment).
"""

from __future__ import annotations

import time
from typing import Literal

from fastapi import APIRouter
from fastapi.responses import FileResponse
from pydantic import BaseModel, Field

from app.access import Entry
from app.api.admission import Admitted, admit
from app.deps import RoomId, ServicesDep
from app.echo_process import EchoTestRunning, EchoUnavailable
from app.errors import Invalid, TooManyRequests, Unavailable
from app.services import Services
from app.turn import ice_servers_for
from app.web import ROOM_PAGE
from media.echo_peer import EchoPeersBusy
from media.precall_verdict import CandidateType, PrecallMeasurement, Verdict, connect_failure, verdict
from signaling.messages import IceServer

router = APIRouter(tags=["session"])

_MAX_SDP_CHARS = 64 * 1024


class CheckOffer(BaseModel):
    """A complete offer (ICE gathering finished: no trickle) and the join token that allows the test."""

    token: str = Field(max_length=4096)
    sdp: str = Field(min_length=1, max_length=_MAX_SDP_CHARS)
    type: Literal["offer"]


class CheckAnswer(BaseModel):
    """The echo peer's answer, with all its candidates."""

    sdp: str
    type: Literal["answer"] = "answer"


class CheckConfigRequest(BaseModel):
    """The join token that allows the test."""

    token: str = Field(max_length=4096)


class CheckConfig(BaseModel):
    """How to run the test: gather with ``ice_servers``, measure for ``duration_s``."""

    ice_servers: list[IceServer]
    """``RTCIceServer`` entries (TURN with short-lived credentials first), as in ``welcome``."""
    duration_s: float
    """Seconds from starting the test to reading the figures (connecting included)."""


class CheckMeasurement(BaseModel):
    """What the client measured; a figure it could not measure is left out (``null``)."""

    token: str = Field(max_length=4096)
    connected: bool
    rtt_s: float | None = Field(default=None, ge=0, le=60)
    """Round trip in seconds."""
    loss: float | None = Field(default=None, ge=0, le=1)
    """Fraction of packets lost, 0-1."""
    jitter_s: float | None = Field(default=None, ge=0, le=60)
    bitrate_bps: float | None = Field(default=None, ge=0, le=10_000_000_000)
    """What the client can send upstream, bits per second: its sending rate, or its congestion
    controller's estimate (``availableOutgoingBitrate``) when that is higher, since a short test mostly
    sees the sender ramping up."""
    gathered: list[CandidateType] = Field(default_factory=list, max_length=4)
    """The types of the client's own ICE candidates (for why it could not connect)."""
    failure: str | None = Field(default=None, max_length=300)
    """The client's own reason it could not connect (a refused test, for example), if it knows one."""


class CheckVerdict(BaseModel):
    """The recommendation, in words a person can act on."""

    verdict: Verdict
    words: str
    reasons: list[str]


async def _admit(services: Services, token: str, room_id: str) -> Admitted:
    """The test is for a join link holder of a room that is not over (it may be days before it opens)."""
    return await admit(services, Entry.CHECK, token=token, room_id=room_id)


def _holder(admitted: Admitted) -> str:
    """Whose test it is: one join link (a room's host or guest), allowed one test at a time."""
    return f"{admitted.room.id}.{admitted.role.value}"


def _ice_servers(services: Services, admitted: Admitted) -> list[IceServer]:
    now = time.time()
    return ice_servers_for(services.settings, room_id=admitted.room.id, role=admitted.role, now=now)


@router.get("/check", include_in_schema=False)
@router.get("/s/{room_id}/check", include_in_schema=False)
async def check_page() -> FileResponse:
    """The connection test page: the pre-join checks without joining (the token is in the fragment)."""
    return FileResponse(ROOM_PAGE)  # with the page's headers (app.web.HtmlHeaders)


@router.post("/s/{room_id}/check/config")
async def check_config(room_id: RoomId, body: CheckConfigRequest, services: ServicesDep) -> CheckConfig:
    """The ICE servers (with fresh TURN credentials) and the duration of a pre-call test."""
    admitted = await _admit(services, body.token, room_id)
    duration_s = services.settings.precall_duration_s
    return CheckConfig(ice_servers=_ice_servers(services, admitted), duration_s=duration_s)


@router.post("/s/{room_id}/check/verdict")
async def check_verdict(room_id: RoomId, body: CheckMeasurement, services: ServicesDep) -> CheckVerdict:
    """Turn a test's figures (or, when it did not connect, the candidates gathered) into a verdict."""
    admitted = await _admit(services, body.token, room_id)
    if services.echo is not None:
        services.echo.stop(_holder(admitted))  # its client is done with it
    failure: tuple[str, ...] = ()
    if not body.connected:
        if body.failure:
            failure = (body.failure,)
        else:
            servers = _ice_servers(services, admitted)
            failure = connect_failure(gathered=set(body.gathered), ice_servers=servers)
    measurement = PrecallMeasurement(
        connected=body.connected,
        rtt_s=body.rtt_s,
        loss=body.loss,
        jitter_s=body.jitter_s,
        bitrate_bps=body.bitrate_bps,
    )
    result = verdict(measurement, failure=failure)
    return CheckVerdict(verdict=result.verdict, words=result.words, reasons=list(result.reasons))


@router.post("/s/{room_id}/check")
async def check(room_id: RoomId, body: CheckOffer, services: ServicesDep) -> CheckAnswer:
    """Start a pre-call test: a server-side peer echoes the offered media for a few seconds."""
    admitted = await _admit(services, body.token, room_id)  # before any echo peer starts
    if services.echo is None:
        raise Unavailable("Connection tests are not available.", code="precall_unavailable")
    try:
        sdp = await services.echo.answer(body.sdp, services.settings.ice_servers, holder=_holder(admitted))
    except EchoTestRunning:
        raise TooManyRequests(
            "A connection test for this join link is running already; wait for its result.",
            retry_after_s=services.settings.precall_max_s,
            code="precall_running",
        ) from None
    except EchoPeersBusy:
        raise TooManyRequests(
            "Too many connection tests are running; try again in a few seconds.",
            retry_after_s=services.settings.precall_max_s,
            code="precall_busy",
        ) from None
    except ValueError as exc:  # no audio or video, no DTLS fingerprint, or an SDP aiortc cannot use
        raise Invalid(f"This offer cannot be used: {exc}", code="invalid_offer") from None
    except EchoUnavailable:
        raise Unavailable(
            "Connection tests are not available right now; try again in a few seconds.",
            code="precall_unavailable",
        ) from None
    return CheckAnswer(sdp=sdp)
