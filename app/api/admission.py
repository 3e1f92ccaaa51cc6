"""The HTTP entries a join link holder uses (preview, pre-call test, "call me"): the token and the
room, decided by :func:`app.access.decide` and refused as :data:`app.access.REFUSALS` says."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from app import crud
from app.access import Entry, Refusal, decide, http_error, read_token
from app.models import Participant, Room, RoomState
from app.services import Services
from signaling.messages import Role

__all__ = ["Admitted", "admit"]


@dataclass(frozen=True, slots=True)
class Admitted:
    """A join link holder let in at an HTTP entry, with the room's two people."""

    room: Room
    state: RoomState
    role: Role
    people: dict[Role, Participant]


async def admit(services: Services, entry: Entry, *, token: str, room_id: str) -> Admitted:
    """Let the holder of ``token`` in through ``entry``, or raise the refusal's HTTP error."""
    credential = read_token(services.tokens, token, room_id=room_id)
    found = None
    if not isinstance(credential, Refusal):  # a bad token costs no database look-up
        await services.events.flush()  # the live flag is written in batches
        async with services.db.session() as session:
            found = await crud.get_room_and_participants(session, room_id=room_id)
    outcome = decide(
        entry,
        credential,
        None if found is None else found[0],
        datetime.now(UTC),
        join_early_s=services.settings.join_early_s,
    )
    if isinstance(outcome, Refusal):
        raise http_error(outcome)
    assert found is not None and outcome.role is not None, "a token entry admits a role to a room"
    return Admitted(room=outcome.room, state=outcome.state, role=outcome.role, people=found[1])
