"""How duet is served: one uvicorn configuration for ``duet serve``, the tests and the benchmarks."""

from __future__ import annotations

from typing import Any

import uvicorn
from fastapi import FastAPI

from app.config import Settings
from app.ws_protocol import DuetWebSocketProtocol

__all__ = ["MAX_FRAME_BYTES", "uvicorn_config"]

MAX_FRAME_BYTES = 1024 * 1024
"""The largest WebSocket message uvicorn takes (the protocol's own, smaller limit is checked after)."""


def uvicorn_config(app: FastAPI, settings: Settings, **overrides: Any) -> uvicorn.Config:
    """uvicorn's configuration for ``app``: duet's WebSocket protocol class and socket options."""
    options: dict[str, Any] = {
        "host": settings.host,
        "port": settings.port,
        "ws": DuetWebSocketProtocol,
        "ws_max_size": MAX_FRAME_BYTES,
        # permessage-deflate keeps two zlib streams per socket: measured with bench/signaling_node.py
        # (500 sessions, clients offering it, as browsers do), 100 KiB per socket instead of 48, to
        # shrink frames of a few hundred bytes on a link that carries video.
        "ws_per_message_deflate": False,
        "proxy_headers": True,
        "log_level": "info",
        "access_log": settings.access_log,
    }
    options.update(overrides)
    return uvicorn.Config(app, **options)
