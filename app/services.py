"""The objects one running duet is made of, built from settings and kept on ``app.state``."""

from __future__ import annotations

from dataclasses import dataclass

from app import crud
from app.config import Settings, signing_secret
from app.db import Database
from app.event_log import EventLog
from app.live_rooms import LiveRooms
from app.tokens import JoinTokens

__all__ = ["Services"]


@dataclass
class Services:
    settings: Settings
    db: Database
    tokens: JoinTokens
    events: EventLog
    live: LiveRooms

    @classmethod
    def build(cls, settings: Settings) -> Services:
        db = Database(settings.database_url)
        tokens = JoinTokens(signing_secret(settings))
        events = EventLog(db, flush_interval_s=settings.event_flush_interval_s)
        live = LiveRooms(settings=settings, db=db, tokens=tokens, events=events)
        return cls(settings=settings, db=db, tokens=tokens, events=events, live=live)

    async def start(self) -> None:
        await self.db.migrate()
        async with self.db.session() as session:
            await crud.clear_live(session)  # nobody is connected to a process that just started
        self.events.start()
        self.live.start()

    async def stop(self) -> None:
        await self.live.stop()
        await self.events.close()
        await self.db.dispose()
