"""How ``duet serve`` logs: plain lines or JSON (``DUET_LOG_FORMAT=json``), with the connection's context.

A signaling socket sets its context once (:func:`bind_connection`, then the room and role when it
joins); every line logged from its task, and from the tasks it starts, carries ``conn``, ``room_id``
and ``role``. Nothing in duet logs a token, an SDP, a phone number or a secret: log calls pass only
ids, codes and counts (phone numbers are masked by ``app.phone.numbers.masked``).
"""

from __future__ import annotations

import contextvars
import json
import logging
from datetime import UTC, datetime
from typing import Any, Literal

__all__ = ["LogFormat", "bind_connection", "bind_room", "configure_logging"]

LogFormat = Literal["text", "json"]

_conn: contextvars.ContextVar[int | None] = contextvars.ContextVar("duet_conn", default=None)
_room: contextvars.ContextVar[tuple[str, str] | None] = contextvars.ContextVar("duet_room", default=None)

_ACCESS_LINES = ('"WebSocket ', "connection open", "connection closed")
"""uvicorn's per-connection lines (logged by ``uvicorn.error``, not its access logger)."""


def bind_connection(conn: int) -> None:
    """The current task (a signaling socket's) serves connection ``conn``."""
    _conn.set(conn)


def bind_room(room_id: str, role: str) -> None:
    """The current task's socket joined ``room_id`` as ``role``."""
    _room.set((room_id, role))


class _ContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.conn = _conn.get()
        room = _room.get()
        record.room_id, record.role = room if room is not None else (None, None)
        return True


class _NoConnectionLines(logging.Filter):
    """Drops uvicorn's per-WebSocket lines: thousands of sockets would log thousands of lines."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return not any(part in message for part in _ACCESS_LINES)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, the connection's context, and the
    exception's traceback if there is one."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key in ("conn", "room_id", "role"):
            value = getattr(record, key, None)
            if value is not None:
                line[key] = value
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False)


def configure_logging(fmt: LogFormat, *, access_log: bool) -> dict[str, Any]:
    """Set up the root logger for ``duet serve`` and return uvicorn's ``log_config`` to match.

    ``access_log``: keep uvicorn's line per HTTP request and per WebSocket connection (off by
    default: under load they cost more than the work they describe)."""
    handler = logging.StreamHandler()
    handler.addFilter(_ContextFilter())
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(levelname)s:     %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)
    uvicorn_error = logging.getLogger("uvicorn.error")
    for existing in list(uvicorn_error.filters):
        if isinstance(existing, _NoConnectionLines):
            uvicorn_error.removeFilter(existing)
    if not access_log:
        uvicorn_error.addFilter(_NoConnectionLines())
    # uvicorn's loggers propagate to the root handler above instead of installing their own.
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "loggers": {
            "uvicorn": {"level": "INFO", "handlers": [], "propagate": True},
            "uvicorn.error": {"level": "INFO", "propagate": True},
            "uvicorn.access": {"level": "INFO" if access_log else "WARNING", "propagate": True},
        },
    }
