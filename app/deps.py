"""Dependency aliases for routes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Path, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlmodel.ext.asyncio.session import AsyncSession
from starlette.requests import HTTPConnection

from app import crud
from app.errors import Unauthorized
from app.models import ApiKey
from app.services import Services

__all__ = ["ROOM_ID_PATTERN", "ApiKeyDep", "RoomId", "ServicesDep", "SessionDep"]


ROOM_ID_PATTERN = r"^[A-Za-z0-9_-]+$"
"""The characters of a room id (``crud.new_room_id``: URL-safe base64). Anything else is refused as a
422 before a database sees it: PostgreSQL refuses a NUL in text with an error (a 500)."""
RoomId = Annotated[
    str, Path(min_length=1, max_length=32, pattern=ROOM_ID_PATTERN, description="The room's id")
]


def get_services(connection: HTTPConnection) -> Services:
    services: Services = connection.app.state.duet
    return services


ServicesDep = Annotated[Services, Depends(get_services)]


async def get_session(services: ServicesDep) -> AsyncIterator[AsyncSession]:
    async with services.db.session() as session:
        yield session


SessionDep = Annotated[AsyncSession, Depends(get_session)]

_bearer = HTTPBearer(
    auto_error=False,
    description=(
        "An API key made with `duet apikey create NAME`. A key sees only the rooms it created (another"
        " key's room is 404); a key made with `--admin` sees and manages every room."
    ),
)


async def require_api_key(
    request: Request,
    session: SessionDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> ApiKey:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthorized("Send an API key as 'Authorization: Bearer <key>'.", code="missing_api_key")
    key = await crud.api_key_by_secret(session, key=credentials.credentials)
    if key is None:
        raise Unauthorized("This API key is not valid.", code="invalid_api_key")
    return key


ApiKeyDep = Annotated[ApiKey, Depends(require_api_key)]
