"""The life of an API key, as the ``duet apikey`` commands run it: create, list, revoke.

A key sees the rooms it created; a key created with ``--admin`` sees every room (``app.rooms``).

A key is ``duet_`` and 43 URL-safe characters (256 random bits); the database holds its SHA-256 and
its first 9 characters (``duet_`` and 4 random ones, 24 of the 256 bits, as GitHub and Stripe show a
token's start), which is all a listing shows. Revoking sets ``revoked_at``; the API looks every
request's key up in the database (``crud.api_key_by_secret``), so a running server refuses a revoked
key from its next request.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from app import crud
from app.config import Settings
from app.db import Database
from app.models import ApiKey

__all__ = [
    "AmbiguousKey",
    "KeyChoiceError",
    "Revocation",
    "UnknownKey",
    "choose_key",
    "create_key",
    "describe_key",
    "format_keys",
    "list_keys",
    "revoke_key",
    "scope",
]


class KeyChoiceError(Exception):
    """``duet apikey revoke NAME|PREFIX`` cannot tell which key is meant."""


class UnknownKey(KeyChoiceError):
    """No key has that name or prefix."""


class AmbiguousKey(KeyChoiceError):
    """Several active keys have that name or prefix."""


def _when(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def describe_key(key: ApiKey) -> str:
    """``'ci' (duet_AbCd, created 2026-11-25 15:00:00 UTC)``: enough to tell keys apart, nothing secret."""
    return f"{key.name!r} ({key.prefix}, created {_when(key.created_at)})"


def scope(key: ApiKey) -> str:
    """``admin`` (sees every room) or ``own`` (sees the rooms it created)."""
    return "admin" if key.admin else "own"


def format_keys(keys: Sequence[ApiKey]) -> list[str]:
    """A header and one line per key: its prefix, when it was made, whether it is revoked, its scope
    (:func:`scope`), its name.

    The name comes last, so a name with spaces never shifts the other columns.
    """
    lines = [f"{'PREFIX':<10} {'CREATED':<23}  {'STATUS':<31}  {'SCOPE':<5}  NAME"]
    for key in keys:
        status = "active" if key.revoked_at is None else f"revoked {_when(key.revoked_at)}"
        lines.append(f"{key.prefix:<10} {_when(key.created_at)}  {status:<31}  {scope(key):<5}  {key.name}")
    return lines


def choose_key(matches: Sequence[ApiKey], query: str) -> ApiKey:
    """The key ``duet apikey revoke QUERY`` means, among the keys whose name or prefix is ``query``.

    The one active key among them: a name reused after its old key was revoked still names one key.
    When all of them are revoked, the latest revoked (the caller has nothing left to do).
    """
    if not matches:
        raise UnknownKey(f"No API key is named {query!r} or has that prefix; `duet apikey list` shows them.")
    active = [key for key in matches if key.revoked_at is None]
    if len(active) > 1:
        raise AmbiguousKey(
            f"{len(active)} active API keys match {query!r}: "
            + "; ".join(describe_key(key) for key in active)
            + f". Revoke one by its prefix, e.g. `duet apikey revoke {active[0].prefix}`."
        )
    if active:
        return active[0]
    return max(matches, key=lambda key: key.revoked_at or key.created_at)


@dataclass(frozen=True)
class Revocation:
    """What ``revoke_key`` did."""

    key: ApiKey
    already: bool
    """The key was revoked before (``key.revoked_at`` is that earlier time); nothing changed."""

    def message(self) -> str:
        assert self.key.revoked_at is not None
        at = _when(self.key.revoked_at)
        if self.already:
            return f"API key {describe_key(self.key)} was already revoked at {at}."
        return f"Revoked API key {describe_key(self.key)} at {at}: the API refuses it from its next request."


@asynccontextmanager
async def _session(settings: Settings) -> AsyncIterator[AsyncSession]:
    db = Database(settings.database_url)
    try:
        await db.migrate()
        async with db.session() as session:
            yield session
    finally:
        await db.dispose()


async def create_key(settings: Settings, *, name: str, admin: bool = False) -> str:
    """Make a key named ``name`` (with ``admin``, one that sees every room); returns its only
    plain-text copy."""
    key = crud.new_api_key()
    async with _session(settings) as session:
        await crud.create_api_key(session, name=name, key=key, admin=admin)
    return key


async def list_keys(settings: Settings) -> list[ApiKey]:
    async with _session(settings) as session:
        return await crud.list_api_keys(session)


async def revoke_key(settings: Settings, *, query: str, now: datetime) -> Revocation:
    """Revoke the key named or prefixed ``query`` (see ``choose_key``; raises ``KeyChoiceError``)."""
    async with _session(settings) as session:
        key = choose_key(await crud.api_keys_named(session, name_or_prefix=query), query)
        if key.revoked_at is not None:
            return Revocation(key=key, already=True)
        return Revocation(key=await crud.revoke_api_key(session, key=key, now=now), already=False)
