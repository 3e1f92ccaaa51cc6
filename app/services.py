"""The objects one running duet is made of, built from settings and kept on ``app.state``."""

from __future__ import annotations

from dataclasses import dataclass

from app import crud
from app.config import Settings, signing_secret
from app.db import Database
from app.echo_process import EchoProcess
from app.event_log import EventLog
from app.live_rooms import LiveRooms
from app.metrics import Metrics
from app.phone.bridge import PhoneBridge
from app.phone.providers import AsgiApp, build_provider
from app.tokens import JoinTokens
from app.webhooks.service import Webhooks

__all__ = ["Services"]


@dataclass
class Services:
    settings: Settings
    db: Database
    tokens: JoinTokens
    events: EventLog
    live: LiveRooms
    metrics: Metrics
    webhooks: Webhooks
    """The outbox, the delivery worker and the attendance timers."""
    phone: PhoneBridge | None = None
    """The phone bridge, when ``DUET_PHONE_PROVIDER`` names one."""
    draining: bool = False
    """The process is stopping: ``/readyz`` says not ready, so a balancer sends no new sessions."""
    echo: EchoProcess | None = None
    """The pre-call test's echo peers (``POST /s/{room_id}/check``), in a worker process."""

    @classmethod
    def build(cls, settings: Settings, *, app: AsgiApp | None = None) -> Services:
        """``app`` is the ASGI app being built, for a console phone provider to call in process."""
        metrics = Metrics()
        db = Database(settings.database_url)
        db.time_queries(metrics.db_query.observe)
        secret = signing_secret(settings)
        previous = settings.secret_key_previous
        tokens = JoinTokens(secret, previous=previous.get_secret_value() if previous else None)
        outbox = Webhooks.outbox_for(settings)
        events = EventLog(
            db, flush_interval_s=settings.event_flush_interval_s, observe=metrics.event, outbox=outbox
        )
        webhooks = Webhooks(settings, db, outbox, events)
        live = LiveRooms(settings=settings, db=db, tokens=tokens, events=events, metrics=metrics)
        provider = build_provider(settings, app=app)
        phone = (
            None
            if provider is None
            else PhoneBridge(
                settings=settings,
                db=db,
                events=events,
                live=live,
                provider=provider,
                secret=secret,
                metrics=metrics,
            )
        )
        echo = EchoProcess(
            max_concurrent=settings.precall_max_concurrent,
            max_s=settings.precall_max_s,
            allow_private_candidates=settings.precall_allow_private_candidates,
        )
        metrics.gauge(
            "duet_precall_tests_running", "Pre-call connection tests running now.", lambda: len(echo)
        )
        return cls(
            settings=settings,
            db=db,
            tokens=tokens,
            events=events,
            live=live,
            metrics=metrics,
            phone=phone,
            echo=echo,
            webhooks=webhooks,
        )

    async def start(self) -> None:
        await self.db.migrate()
        async with self.db.session() as session:
            was_live = await crud.live_room_ids(session)
            await crud.clear_live(session)  # nobody is connected to a process that just started
            await session.commit()
        self.events.start()
        self.webhooks.start()
        self.live.start(restorable=was_live)
        self.metrics.start()

    async def stop(self) -> None:
        self.draining = True  # /readyz says so from now on
        await self.metrics.stop()
        if self.echo is not None:
            await self.echo.close()
        if self.phone is not None:
            await self.phone.close()
        await self.live.stop()
        await self.webhooks.close()
        await self.events.close()
        await self.db.dispose()
