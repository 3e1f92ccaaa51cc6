"""``/s/{room_id}``: what a join link holder uses (the page, a preview, the signaling socket)."""

from __future__ import annotations

import asyncio
import contextvars
from datetime import datetime

from fastapi import APIRouter, Response, WebSocket
from fastapi.responses import FileResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.websockets import WebSocketDisconnect

from app import crud
from app.access import Entry
from app.api.admission import admit
from app.call_advisor import room_backups
from app.deps import RoomId, ServicesDep
from app.live_rooms import JoinRefused
from app.logs import bind_connection, bind_room
from app.models import RoomState
from app.phone.numbers import masked
from app.rooms import invite_for
from app.services import Services
from app.web import ROOM_PAGE
from app.ws_protocol import direct_socket
from signaling.events import FeedbackChip, FeedbackData, FeedbackSubmitted
from signaling.messages import (
    PROTOCOL_VERSION,
    BackupPlan,
    CloseCode,
    Error,
    ErrorCode,
    Join,
    Role,
)

router = APIRouter(tags=["session"])


@router.get("/s/{room_id}", include_in_schema=False)
async def room_page(room_id: RoomId) -> FileResponse:
    """The call page; it reads its token from the URL fragment, which never reaches us."""
    return FileResponse(ROOM_PAGE)  # with the page's headers (app.web.HtmlHeaders)


class PreviewRequest(BaseModel):
    token: str = Field(max_length=4096)


class PreviewPerson(BaseModel):
    role: Role
    name: str


class PreviewRoom(BaseModel):
    id: str
    title: str
    state: RoomState
    starts_at: datetime
    expires_at: datetime


class PreviewBackup(BaseModel):
    """The backup plan (REST spelling of the protocol's ``BackupPlan``)."""

    peer_phone: str | None
    dial_in: str | None
    pin: str | None
    dial_in_link: str | None


class PreviewCallMe(BaseModel):
    """ "Call me" is available: duet can ring this person's phone (``POST /s/{room_id}/call-me``)."""

    phone: str | None
    """The number on file for this person, masked (``+*********23``); ``None``: ask them for one."""
    typed: bool
    """The person may type a number for duet to call (``DUET_PHONE_CALL_ME_TYPED``); ``False``: only
    ``phone`` is ever called, so the page offers no number box."""


class Preview(BaseModel):
    """What the pre-join screen shows."""

    room: PreviewRoom
    you: PreviewPerson
    peer: PreviewPerson
    backup: PreviewBackup | None
    """"Our backup plan": how to reach each other by phone if the internet fails."""
    call_me: PreviewCallMe | None = None
    """Present when the deployment has a phone bridge and can ring this person: a number is on file
    for them, or they may type one."""


@router.post("/s/{room_id}/preview")
async def preview(room_id: RoomId, body: PreviewRequest, services: ServicesDep) -> Preview:
    """The room as the holder of a join token sees it (the token goes in the body, never the URL)."""
    admitted = await admit(services, Entry.PREVIEW, token=body.token, room_id=room_id)
    room, people, role = admitted.room, admitted.people, admitted.role
    you, peer = people[role], people[role.other]
    return Preview(
        room=PreviewRoom(
            id=room.id,
            title=room.title,
            state=admitted.state,
            starts_at=room.starts_at,
            expires_at=room.expires_at,
        ),
        you=PreviewPerson(role=you.role, name=you.name),
        peer=PreviewPerson(role=peer.role, name=peer.name),
        backup=_rest_backup(
            room_backups(
                phones={role: (p.phone, p.share_phone) for role, p in people.items()},
                dial_in=services.settings.phone_dial_in,
                pin=room.dial_in_pin,
            )[role]
        ),
        call_me=_call_me(services, you.phone),
    )


def _call_me(services: Services, phone: str | None) -> PreviewCallMe | None:
    typed = services.settings.phone_call_me_typed
    if services.phone is None or (phone is None and not typed):
        return None
    return PreviewCallMe(phone=masked(phone) if phone else None, typed=typed)


def _rest_backup(plan: BackupPlan | None) -> PreviewBackup | None:
    return None if plan is None else PreviewBackup(**plan.model_dump(by_alias=False))


async def _receive_text(ws: WebSocket) -> str:
    """The next frame as text; binary frames are decoded; a closed socket raises WebSocketDisconnect."""
    message = await ws.receive()
    if message["type"] == "websocket.disconnect":
        raise WebSocketDisconnect(message.get("code", 1000))
    if message.get("text") is not None:
        return str(message["text"])
    return bytes(message.get("bytes") or b"").decode("utf-8", errors="replace")


@router.websocket("/s/{room_id}/ws")
async def signaling(ws: WebSocket, room_id: str, services: ServicesDep) -> None:
    """One participant's signaling socket: ``join`` first, then relayed negotiation (docs/protocol.md).

    Once joined, served through duet's WebSocket protocol class (app/ws_protocol.py), frames are
    handed to the room by a plain call from the socket's protocol; this task then only waits for
    the disconnect. Served otherwise (another ASGI server), it receives them itself."""
    settings, live = services.settings, services.live
    await ws.accept()
    direct = direct_socket(ws.scope)
    conn = live.connect(
        ws,
        send_now=direct.send_now if direct else None,
        abort=direct.abort if direct else None,
    )
    bind_connection(conn)
    loop = asyncio.get_running_loop()
    try:
        deadline = loop.time() + settings.join_timeout_s
        while True:
            try:
                async with asyncio.timeout_at(deadline):
                    text = await _receive_text(ws)
            except TimeoutError:
                live.refuse(
                    conn,
                    JoinRefused(
                        ErrorCode.JOIN_TIMEOUT, CloseCode.JOIN_TIMEOUT, "No join frame arrived in time."
                    ),
                )
                return
            message = live.parse(conn, text)
            if message is None:
                continue
            if not isinstance(message, Join):
                live.send(conn, Error(code=ErrorCode.NOT_JOINED, message="Send a join frame first."))
                continue
            if message.v != PROTOCOL_VERSION:
                live.refuse(
                    conn,
                    JoinRefused(
                        ErrorCode.UNSUPPORTED_VERSION,
                        CloseCode.UNSUPPORTED_VERSION,
                        f"This server speaks protocol version {PROTOCOL_VERSION}, not {message.v}.",
                    ),
                )
                return
            try:
                role = await live.admit(conn, room_id, message.token, resume=message.resume)
            except JoinRefused as refusal:
                live.refuse(conn, refusal)
                return
            bind_room(room_id, role.value)
            break
        if direct is not None:
            context = contextvars.copy_context()  # log lines from the frames carry conn, room and role
            direct.deliver_to(lambda text: context.run(live.receive, conn, text))
        while True:
            live.receive(conn, await _receive_text(ws))  # with the direct path, only the disconnect comes
    except WebSocketDisconnect:
        pass
    finally:
        # A refused socket keeps its connection until the error and close frames have left (bounded).
        await live.closed(conn)
        live.disconnect(conn)


class TokenRequest(BaseModel):
    token: str = Field(max_length=4096)


@router.post(
    "/s/{room_id}/invite",
    response_class=Response,
    responses={200: {"content": {"text/calendar": {}}, "description": "An RFC 5545 calendar"}},
)
async def invite(room_id: RoomId, body: TokenRequest, services: ServicesDep) -> Response:
    """The join link holder's own calendar invite (the page's "Add to calendar"); the token goes in
    the body, never the URL. An ended room's invite is a cancellation, for a week."""
    admitted = await admit(services, Entry.INVITE, token=body.token, room_id=room_id)
    ics = invite_for(services, admitted.room, admitted.people, admitted.role)
    disposition = f'attachment; filename="duet-{admitted.room.id}.ics"'
    return Response(
        ics, media_type="text/calendar; charset=utf-8", headers={"Content-Disposition": disposition}
    )


class FeedbackRequest(BaseModel):
    """``POST /s/{room_id}/feedback``: how the call went, from a join link holder."""

    model_config = ConfigDict(extra="forbid")
    token: str = Field(max_length=4096)
    rating: int = Field(ge=1, le=5, description="stars, 1-5")
    chips: list[FeedbackChip] = Field(default_factory=list, max_length=7, description="what went wrong")
    comment: str = Field(default="", max_length=1000)


class FeedbackAccepted(BaseModel):
    rating: int
    replaced: bool
    """This person had rated the call before: this rating replaces that one."""


@router.post("/s/{room_id}/feedback", status_code=202)
async def feedback(room_id: RoomId, body: FeedbackRequest, services: ServicesDep) -> FeedbackAccepted:
    """Rate the call (one rating a person a room: a second replaces the first), during it or for a
    week after the room ended. Stored, in the report, and sent as ``feedback.submitted``."""
    admitted = await admit(services, Entry.FEEDBACK, token=body.token, room_id=room_id)
    async with services.db.session() as session:
        before = await crud.count_room_events(session, room_id=room_id, type_="feedback", role=admitted.role)
    chips = list(dict.fromkeys(body.chips))  # each once, in the order given
    rated = FeedbackData(
        rating=body.rating, chips=[] if body.rating == 5 else chips, comment=body.comment.strip()
    )
    services.events.record(room_id, FeedbackSubmitted(role=admitted.role, data=rated))
    await services.events.flush()
    return FeedbackAccepted(rating=body.rating, replaced=before > 0)
