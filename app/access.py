"""Who may enter a room, decided in one place, and how a refusal is said on each channel.

Every way into a room asks the same question: the page's preview, the pre-call test, the signaling
socket, "call me", and the phone bridge's dial-in and call webhooks. :func:`decide` answers it
(pure: the clock is passed in) with an :class:`Admission` or a :class:`Refusal`; which checks apply
where is the :data:`RULES` table, one row per :class:`Entry`. A refusal is then said through one
table, :data:`REFUSALS`: an HTTP error (:func:`http_error`), a WebSocket ``error`` frame and close
code (:func:`socket_refusal`), or the words the phone says (:func:`phone_words`).

The order of the checks is the order of the questions: is the token good (before any database
look-up, so a forged token costs no query), does the room exist, is it over (ended or expired:
refused at every entry), is it too early, is anyone there.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from app.errors import Conflict, DuetError, Gone, NotFound, Unauthorized
from app.models import Room, RoomState, room_state
from app.tokens import InvalidToken, JoinClaims, JoinTokens
from signaling.messages import CloseCode, ErrorCode, Role

__all__ = [
    "REFUSALS",
    "RULES",
    "Admission",
    "Entry",
    "Reason",
    "Refusal",
    "RefusalWords",
    "Rules",
    "decide",
    "http_error",
    "phone_words",
    "read_token",
    "socket_refusal",
]


class Entry(enum.Enum):
    """A way into a room."""

    PREVIEW = "preview"
    """``POST /s/{room}/preview``: the pre-join screen, also days before the session."""
    CHECK = "check"
    """``POST /s/{room}/check/config``, ``/check``, ``/check/verdict``: the pre-call test."""
    SOCKET = "socket"
    """The signaling socket's ``join``."""
    CALL_ME = "call-me"
    """``POST /s/{room}/call-me``: duet rings a participant's phone."""
    DIAL_IN = "dial-in"
    """The phone menu: a caller typed the room's PIN."""
    PHONE_CALL = "phone-call"
    """The provider's webhooks of a call under way (who is calling, "press 1", the conference)."""
    INVITE = "invite"
    """``POST /s/{room}/invite``: the calendar invite (a cancelled one once the room was ended)."""
    FEEDBACK = "feedback"
    """``POST /s/{room}/feedback``: rating the call, also after the room ended."""


@dataclass(frozen=True, slots=True)
class Rules:
    """Which checks apply at one entry. Ended and expired rooms are refused at every entry, except
    for ``over_for_s`` after they ended at the entries that come after a call."""

    token: bool
    """A join token says who asks (otherwise the PIN did, or the provider's signed callback)."""
    not_before_opening: bool
    """Refused earlier than ``join_early_s`` seconds before the room's ``starts_at``."""
    live_only: bool
    """Refused unless the room is live (someone connected, or on the phone)."""
    live_or_starting: bool
    """Refused unless the room is live or started at most ``late_s`` seconds ago: a phone PIN opens
    a room nobody is in only around its start, so a guessed PIN finds few rooms to open."""
    over_for_s: float = 0.0
    """Admitted this long (seconds) after the room ended or expired."""


AFTER_THE_END_S = 7 * 86_400.0
"""A join link still rates the call, and gets its (cancelled) invite, for a week after the room ends."""

RULES: Mapping[Entry, Rules] = {
    Entry.PREVIEW: Rules(token=True, not_before_opening=False, live_only=False, live_or_starting=False),
    Entry.CHECK: Rules(token=True, not_before_opening=False, live_only=False, live_or_starting=False),
    Entry.SOCKET: Rules(token=True, not_before_opening=True, live_only=False, live_or_starting=False),
    Entry.CALL_ME: Rules(token=True, not_before_opening=False, live_only=True, live_or_starting=False),
    Entry.DIAL_IN: Rules(token=False, not_before_opening=True, live_only=False, live_or_starting=True),
    Entry.PHONE_CALL: Rules(token=False, not_before_opening=False, live_only=False, live_or_starting=False),
    Entry.INVITE: Rules(
        token=True,
        not_before_opening=False,
        live_only=False,
        live_or_starting=False,
        over_for_s=AFTER_THE_END_S,
    ),
    Entry.FEEDBACK: Rules(
        token=True,
        not_before_opening=False,
        live_only=False,
        live_or_starting=False,
        over_for_s=AFTER_THE_END_S,
    ),
}


class Reason(enum.StrEnum):
    """Why someone may not enter; the value is the HTTP API's error ``code``."""

    INVALID_TOKEN = "invalid_token"
    ROOM_NOT_FOUND = "room_not_found"
    ROOM_ENDED = "room_ended"
    ROOM_EXPIRED = "room_expired"
    TOO_EARLY = "too_early"
    ROOM_NOT_LIVE = "room_not_live"

    @property
    def room_over(self) -> bool:
        """The room is over for good (ended or expired), not just not open yet."""
        return self in (Reason.ROOM_ENDED, Reason.ROOM_EXPIRED)


@dataclass(frozen=True, slots=True)
class Refusal:
    """Someone may not enter: why, and the sentence that tells them."""

    reason: Reason
    message: str


@dataclass(frozen=True, slots=True)
class Admission:
    """Someone may enter."""

    room: Room
    state: RoomState
    """The room's state at the moment of the decision."""
    role: Role | None
    """Who the join token names; ``None`` at the phone's entries, where the caller says who they are."""


@dataclass(frozen=True, slots=True)
class RefusalWords:
    """How one kind of refusal is said on each channel."""

    message: str
    """The sentence, unless the refusal carries a more precise one."""
    http: type[DuetError]
    """The HTTP error (its status); the JSON ``code`` is the reason's value."""
    socket: tuple[ErrorCode, CloseCode] | None
    """The ``error`` frame's code and the close code; ``None``: the socket never refuses this way."""
    phone: str
    """What the phone says before it hangs up."""


_ENDED_BY_PHONE = "This session has ended. Thank you for calling. Goodbye."

REFUSALS: Mapping[Reason, RefusalWords] = {
    Reason.INVALID_TOKEN: RefusalWords(
        "This join link is not valid.",
        Unauthorized,
        (ErrorCode.UNAUTHORIZED, CloseCode.UNAUTHORIZED),
        "Sorry, this link is not valid. Goodbye.",
    ),
    Reason.ROOM_NOT_FOUND: RefusalWords(
        "This session does not exist.",
        NotFound,
        (ErrorCode.ROOM_NOT_FOUND, CloseCode.ROOM_NOT_FOUND),
        "Sorry, this session does not exist. Goodbye.",
    ),
    Reason.ROOM_ENDED: RefusalWords(
        "This session has ended.", Gone, (ErrorCode.ROOM_ENDED, CloseCode.ROOM_ENDED), _ENDED_BY_PHONE
    ),
    Reason.ROOM_EXPIRED: RefusalWords(
        "This session has expired.", Gone, (ErrorCode.ROOM_EXPIRED, CloseCode.ROOM_EXPIRED), _ENDED_BY_PHONE
    ),
    Reason.TOO_EARLY: RefusalWords(
        "This session has not opened yet.",
        Conflict,
        (ErrorCode.TOO_EARLY, CloseCode.TOO_EARLY),
        "This session has not started yet. Please call again closer to its start time. Goodbye.",
    ),
    Reason.ROOM_NOT_LIVE: RefusalWords(
        "duet can call you only while the session is going on.",
        Conflict,
        None,
        "Nobody is in this session right now. Please call again once the other person has joined. Goodbye.",
    ),
}


def _refused(reason: Reason, message: str | None = None) -> Refusal:
    return Refusal(reason, message or REFUSALS[reason].message)


def read_token(tokens: JoinTokens, token: str, *, room_id: str) -> JoinClaims | Refusal:
    """The claims of a join token for ``room_id``, or the refusal that says what is wrong with it.

    The token's own expiry is not what decides: :func:`decide` checks the room's current times, so a
    rescheduled room's links (issued with its first expiry) stay valid as long as the room is."""
    try:
        return tokens.verify(token, room_id=room_id, check_expiry=False)
    except InvalidToken as exc:
        return _refused(Reason.INVALID_TOKEN, str(exc).capitalize() + ".")


def decide(
    entry: Entry,
    credential: JoinClaims | Refusal | None,
    room: Room | None,
    now: datetime,
    *,
    join_early_s: float,
    late_s: float | None = None,
) -> Admission | Refusal:
    """May someone enter ``room`` (``None``: no such room) through ``entry`` at ``now``?

    ``credential``: what :func:`read_token` made of the join token at the entries that take one
    (a refusal is returned as it is, whatever the room), ``None`` at the phone's entries.
    ``join_early_s``: how many seconds before ``starts_at`` the entries that wait for the opening
    let people in. ``late_s``: how many seconds after ``starts_at`` the dial-in PIN still opens a
    room nobody is in (``DUET_PHONE_PIN_LATE_S``; needed at that entry only).
    """
    rules = RULES[entry]
    if isinstance(credential, Refusal):
        return credential
    if rules.token != (credential is not None):
        wanted = "a join token's claims" if rules.token else "no token"
        raise ValueError(f"the {entry.value} entry expects {wanted}, got {credential!r}")
    if rules.live_or_starting and late_s is None:
        raise ValueError(f"the {entry.value} entry expects late_s, got None")
    if room is None:
        return _refused(Reason.ROOM_NOT_FOUND)
    if credential is not None and credential.room_id != room.id:
        return _refused(Reason.INVALID_TOKEN, "This join link is for another room.")
    state = room_state(room, now)
    if state in (RoomState.ENDED, RoomState.EXPIRED):
        over_at = room.ended_at if room.ended_at is not None else room.expires_at
        if rules.over_for_s > 0 and (now - over_at).total_seconds() <= rules.over_for_s:
            return Admission(room=room, state=state, role=None if credential is None else credential.role)
        return _refused(Reason.ROOM_ENDED if state is RoomState.ENDED else Reason.ROOM_EXPIRED)
    if rules.not_before_opening and (room.starts_at - now).total_seconds() > join_early_s:
        return _refused(
            Reason.TOO_EARLY, f"This session opens at {room.starts_at.isoformat()}; come back then."
        )
    if rules.live_only and state is not RoomState.LIVE:
        return _refused(Reason.ROOM_NOT_LIVE)
    if (
        rules.live_or_starting
        and late_s is not None
        and state is not RoomState.LIVE
        and (now - room.starts_at).total_seconds() > late_s
    ):
        return _refused(Reason.ROOM_NOT_LIVE, "Nobody is in this session right now.")
    return Admission(room=room, state=state, role=None if credential is None else credential.role)


def http_error(refusal: Refusal) -> DuetError:
    """The refusal as the HTTP API's error (``raise`` it)."""
    return REFUSALS[refusal.reason].http(refusal.message, code=refusal.reason.value)


def socket_refusal(refusal: Refusal) -> tuple[ErrorCode, CloseCode, str]:
    """The refusal as the signaling socket says it: the ``error`` frame's code, the close code, the
    message."""
    codes = REFUSALS[refusal.reason].socket
    if codes is None:
        raise ValueError(f"expected a refusal the socket can give, got {refusal.reason.value}")
    return (*codes, refusal.message)


def phone_words(refusal: Refusal) -> str:
    """What the phone says before it hangs up."""
    return REFUSALS[refusal.reason].phone
