"""What "call me" may ring, and how many calls the deployment places a day.

"Call me" costs money and rings a stranger's phone if misused, so a join link alone is not enough to
choose the number: by default duet calls only the number the platform gave for the person at room
creation. A typed number is called only where the deployment allows it
(``DUET_PHONE_CALL_ME_TYPED``), only in its countries (``DUET_PHONE_CALL_COUNTRIES``) and only if it
is a landline or a mobile (:data:`app.phone.numbers.CALLABLE_LINES`). Above it all, a daily ceiling
for the whole deployment (``DUET_PHONE_CALL_ME_PER_DAY``).
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from datetime import UTC, datetime, timedelta
from typing import Literal

from pydantic import BaseModel

from app import crud
from app.db import Database
from app.errors import Invalid, TooManyRequests
from app.event_log import EventLog
from app.phone.numbers import TypedNumber, judge_typed

__all__ = ["DAY", "CallMeAccepted", "DailyCalls", "choose_number"]

DAY = timedelta(days=1)
_IN_FLIGHT_RETRY_S = 60.0
"""Retry-After when the day's calls are all taken by calls this process is placing right now."""

_TYPED_REFUSED = {
    TypedNumber.NO_SUCH_NUMBER: "duet cannot call that number: it is not a phone number in any country.",
    TypedNumber.OTHER_COUNTRY: "duet does not call numbers in that country.",
    TypedNumber.NOT_A_PHONE: "duet calls only landlines and mobile phones.",
}


class CallMeAccepted(BaseModel):
    """Answer to ``POST /s/{room_id}/call-me``: duet is ringing the phone."""

    status: Literal["calling"] = "calling"
    to: str
    """The number being called, masked (``+*********23``)."""


def choose_number(
    *, typed: str | None, on_file: str | None, allow_typed: bool, countries: Collection[str]
) -> str:
    """The number to ring for someone who typed ``typed`` (``None``: nothing typed) and has
    ``on_file`` given for them at room creation; or the 422 that says why none may be rung."""
    if typed is None or typed == on_file:
        if on_file is not None:
            return on_file
        if allow_typed:
            raise Invalid("Type the phone number duet should call.", code="phone_required")
        raise Invalid(
            "duet has no phone number for you in this session; dial in instead.", code="phone_not_on_file"
        )
    if not allow_typed:
        raise Invalid(
            "duet calls only the number given for you when the session was made.", code="phone_not_allowed"
        )
    verdict = judge_typed(typed, frozenset(countries))
    if verdict is not TypedNumber.CALLABLE:
        raise Invalid(_TYPED_REFUSED[verdict], code="phone_not_allowed")
    return typed


class DailyCalls:
    """The deployment's "call me" calls in the last 24 hours: the stored ``phone.calling`` events of
    every room and every process, plus the calls this process is placing right now."""

    def __init__(
        self,
        *,
        limit: int,
        db: Database,
        events: EventLog,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.limit = limit
        self._db, self._events, self._clock = db, events, clock

    async def placed(self) -> tuple[int, datetime | None]:
        """The calls placed in the last 24 hours, and when the earliest of them was."""
        await self._events.flush()  # events are written in batches
        async with self._db.session() as session:
            return await crud.count_events_since(session, type_="phone.calling", since=self._clock() - DAY)

    def check(self, placed: tuple[int, datetime | None], in_flight: int) -> None:
        """Raise 429 when ``placed`` (from :meth:`placed`) and ``in_flight`` reach the day's limit.

        Split from :meth:`placed` so that the caller checks and counts its own call in flight without
        awaiting in between."""
        count, earliest = placed
        if count + in_flight < self.limit:
            return
        if count >= self.limit and earliest is not None:
            retry_after = max(1.0, (earliest + DAY - self._clock()).total_seconds())
        else:
            retry_after = _IN_FLIGHT_RETRY_S
        raise TooManyRequests(
            f"duet placed its {self.limit} calls for today; try again in "
            f"{max(1, round(retry_after / 60))} min.",
            retry_after_s=retry_after,
            code="daily_limit",
        )
