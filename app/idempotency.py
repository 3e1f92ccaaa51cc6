"""``Idempotency-Key`` on the API's POSTs: a retried request gets the first one's answer.

A platform that timed out creating a room cannot know whether the room was made; sending the same
request again with the same ``Idempotency-Key`` header returns the room made the first time instead
of a second one (the IETF draft "The Idempotency-Key HTTP Header Field", as Stripe does). Keys are
scoped to the API key and kept 24 hours. The same key with a different body (or another endpoint)
is a 409; a request still running under the key is a 409 too (try again shortly). Answers that are
errors are not kept: fixing the request and sending it again under the same key works.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Annotated

from fastapi import Header
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, SQLModel, col

from app.db import Database
from app.errors import Conflict
from app.models import ApiKey, UTCDateTime, utcnow

__all__ = ["KEEP", "IdempotencyKey", "IdempotencyRecord", "once"]

KEEP = timedelta(hours=24)

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=100,
        pattern=r"^[\x21-\x7e]+$",
        description="any unique string (a UUID): the same request again with it returns the first answer",
    ),
]


class IdempotencyRecord(SQLModel, table=True):
    """A POST made under an ``Idempotency-Key``, and its answer once it has one."""

    __tablename__ = "idempotency_key"
    api_key_id: int = Field(foreign_key="api_key.id", primary_key=True)
    key: str = Field(primary_key=True, max_length=100)
    request_hash: str = Field(max_length=64)
    """SHA-256 of the method, path and JSON body."""
    status: int | None = Field(default=None)
    """``None`` while the first request runs."""
    body: str | None = Field(default=None)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)


def _fingerprint(operation: str, body: BaseModel | None) -> str:
    payload = {"op": operation, "body": None if body is None else body.model_dump(mode="json")}
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


async def once(
    db: Database,
    *,
    caller: ApiKey,
    key: str | None,
    operation: str,
    body: BaseModel | None,
    status: int,
    run: Callable[[], Awaitable[BaseModel]],
) -> BaseModel | JSONResponse:
    """``run()`` once per (API key, ``key``); a repeat gets the first answer, as it was."""
    if key is None:
        return await run()
    assert caller.id is not None
    fingerprint, now = _fingerprint(operation, body), utcnow()
    async with db.session() as session:
        await session.exec(delete(IdempotencyRecord).where(col(IdempotencyRecord.created_at) < now - KEEP))
        session.add(
            IdempotencyRecord(api_key_id=caller.id, key=key, request_hash=fingerprint, created_at=now)
        )
        try:
            await session.commit()
            first = True
        except IntegrityError:
            first = False
    if not first:
        async with db.session() as session:
            record = await session.get(IdempotencyRecord, (caller.id, key))
        if record is None:  # expired between the two statements: this is the first now
            return await once(
                db, caller=caller, key=key, operation=operation, body=body, status=status, run=run
            )
        if record.request_hash != fingerprint:
            raise Conflict(
                "This Idempotency-Key was used with another request; use a new key.",
                code="idempotency_key_reused",
            )
        if record.status is None or record.body is None:
            raise Conflict(
                "A request with this Idempotency-Key is still running; try again.",
                code="idempotency_key_busy",
            )
        return JSONResponse(
            json.loads(record.body), status_code=record.status, headers={"Idempotent-Replayed": "true"}
        )
    try:
        answer = await run()
    except BaseException:
        async with db.session() as session:  # not kept: the request may be fixed and sent again
            await session.exec(
                delete(IdempotencyRecord).where(
                    col(IdempotencyRecord.api_key_id) == caller.id, col(IdempotencyRecord.key) == key
                )
            )
            await session.commit()
        raise
    async with db.session() as session:
        record = await session.get(IdempotencyRecord, (caller.id, key))
        if record is not None:
            record.status, record.body = status, answer.model_dump_json()
            session.add(record)
            await session.commit()
    return answer
