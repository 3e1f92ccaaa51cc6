"""``/healthz``, ``/readyz`` and ``/metrics``: for load balancers, orchestration and monitoring.

All three are unauthenticated and cheap: none creates anything or returns anything secret. Keep
``/metrics`` on your internal network (it tells how busy the service is, not who uses it).
"""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from sqlalchemy import text

from app.deps import ServicesDep
from app.metrics import CONTENT_TYPE

router = APIRouter(tags=["health"])

READY_TIMEOUT_S = 2.0
"""Seconds ``/readyz`` waits for the database before it says not ready."""


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is alive and its event loop answers."""
    return {"status": "ok"}


@router.get("/readyz", responses={503: {"description": "Not ready: database unreachable, or draining"}})
async def readyz(services: ServicesDep) -> JSONResponse:
    """Ready for new sessions: the database answers and the process is not shutting down."""
    if services.draining:
        return JSONResponse({"status": "draining"}, status_code=503)
    try:
        async with asyncio.timeout(READY_TIMEOUT_S), services.db.session() as session:
            await session.exec(text("SELECT 1"))  # type: ignore[call-overload]
    except Exception:
        return JSONResponse({"status": "database unreachable"}, status_code=503)
    return JSONResponse({"status": "ready"})


@router.get("/metrics", response_class=Response)
async def metrics(services: ServicesDep) -> Response:
    """Prometheus text format: sockets, rooms, joins, frames, stats handling, quality, fallback,
    phone legs, pre-call tests, event-loop lag, collector pauses and database statement times."""
    return Response(services.metrics.render(), media_type=CONTENT_TYPE)
