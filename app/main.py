"""Builds the duet application from settings."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from app.api.routes import check, health, insights, phone, rooms, session, webhooks
from app.body_limits import BodyLimits
from app.config import Settings
from app.errors import install_error_handlers
from app.services import Services
from app.web import WEB_DIR, HtmlHeaders, page_headers

__all__ = ["create_app"]


def create_app(settings: Settings | None = None) -> FastAPI:
    """A new app with everything it needs built in its lifespan; nothing is shared between apps."""
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        services = Services.build(settings, app=app)
        await services.start()
        app.state.duet = services
        try:
            yield
        finally:
            await services.stop()

    app = FastAPI(
        title="duet",
        version="1",
        summary="One-to-one video sessions that keep the conversation going when the network does not.",
        lifespan=lifespan,
    )
    install_error_handlers(app)
    app.add_middleware(BodyLimits)
    docs_paths = [path for path in (app.docs_url, app.redoc_url, app.swagger_ui_oauth2_redirect_url) if path]
    app.add_middleware(HtmlHeaders, page=page_headers(settings.public_url), docs_paths=docs_paths)
    app.include_router(health.router)
    app.include_router(rooms.router)
    app.include_router(session.router)
    app.include_router(phone.router)
    app.include_router(check.router)
    app.include_router(webhooks.router)
    app.include_router(insights.router)
    webhooks.document_catalogue(app)
    app.mount("/static", StaticFiles(directory=WEB_DIR, check_dir=True), name="static")
    return app
