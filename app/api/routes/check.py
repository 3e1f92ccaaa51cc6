"""``POST /s/{room_id}/check``: the pre-call connection test's offer/answer (an echo peer answers)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path
from pydantic import BaseModel, Field

from app.deps import ServicesDep
from app.errors import Invalid, TooManyRequests, Unauthorized, Unavailable
from app.tokens import InvalidToken
from media.echo_peer import EchoPeersBusy

router = APIRouter(tags=["session"])
RoomId = Annotated[str, Path(min_length=1, max_length=32)]

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


@router.post("/s/{room_id}/check")
async def check(room_id: RoomId, body: CheckOffer, services: ServicesDep) -> CheckAnswer:
    """Start a pre-call test: a server-side peer echoes the offered media for a few seconds."""
    try:
        services.tokens.verify(body.token, room_id=room_id)
    except InvalidToken as exc:
        raise Unauthorized(str(exc).capitalize() + ".", code="invalid_token") from None
    if services.echo is None:
        raise Unavailable("Connection tests are not available.", code="precall_unavailable")
    try:
        sdp = await services.echo.answer(body.sdp, services.settings.ice_servers)
    except EchoPeersBusy:
        raise TooManyRequests(
            "Too many connection tests are running; try again in a few seconds.",
            retry_after_s=services.settings.precall_max_s,
            code="precall_busy",
        ) from None
    except ValueError as exc:  # aiortc refuses an SDP it cannot parse or use
        raise Invalid(f"This offer cannot be used: {exc}", code="invalid_offer") from None
    return CheckAnswer(sdp=sdp)
