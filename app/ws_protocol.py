"""The WebSocket protocol duet serves with: uvicorn's sans-I/O one, plus a way to drop a connection.

ASGI lets an app send a close frame, but not drop a connection whose client stopped reading: the
close frame then waits behind everything already buffered, and uvicorn keeps the connection (and
its buffers) until TCP gives up, minutes later. This subclass puts an ``abort`` callable in the
scope's extensions (``duet.abort``), which :class:`app.socket_writer.SocketWriter` calls when a
client does not drain its frames in time. Everything else is uvicorn's own code.
"""

from __future__ import annotations

from collections.abc import Callable, MutableMapping
from typing import Any

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.http11 import Request

__all__ = ["ABORT_EXTENSION", "DuetWebSocketProtocol", "abort_of"]

ABORT_EXTENSION = "duet.abort"


class DuetWebSocketProtocol(WebSocketsSansIOProtocol):
    """uvicorn's ``websockets-sansio`` protocol with ``duet.abort`` in each connection's scope."""

    def handle_connect(self, event: Request) -> None:
        super().handle_connect(event)
        scope = getattr(self, "scope", None)
        if scope is not None:  # absent when the handshake was refused
            scope["extensions"][ABORT_EXTENSION] = {"abort": self._abort}

    def _abort(self) -> None:
        if self.transport is not None:  # closing or not: whatever is still buffered is dropped
            self.transport.abort()


def abort_of(scope: MutableMapping[str, Any]) -> Callable[[], None] | None:
    """The connection's ``abort``, when it is served through :class:`DuetWebSocketProtocol`."""
    extension = (scope.get("extensions") or {}).get(ABORT_EXTENSION)
    return None if extension is None else extension["abort"]
