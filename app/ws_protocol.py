"""The WebSocket protocol duet serves with: uvicorn's sans-I/O one, plus a direct path for signaling.

Through plain ASGI, every frame a client sends is queued, wakes the app's task, and pauses and
resumes the socket's reading (two system calls); every frame sent wakes another task. For thousands
of sockets each sending a stats frame every 2 s, that plumbing costs more than duet's own work.
This subclass of uvicorn's protocol puts a :class:`DirectSocket` in each connection's scope
(``scope["extensions"]["duet.socket"]``), which lets the signaling endpoint:

- take each text frame by a plain call, in order, from the protocol's ``data_received`` (after the
  ``join``, which still goes through ASGI since admitting awaits the database);
- write a frame at once while the transport is writable (a client that does not read makes it
  unwritable: then :class:`app.socket_writer.SocketWriter` queues, bounded, and waits in its task);
- drop a connection whose client stopped reading (ASGI can only ask for a close frame, which then
  waits behind everything buffered, and uvicorn keeps the connection until TCP gives up).

Everything else (the handshake, framing, pings, the close handshake, HTTP) is uvicorn's own code.
"""

from __future__ import annotations

from collections.abc import Callable, MutableMapping
from typing import Any

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.http11 import Request

__all__ = ["SOCKET_EXTENSION", "DirectSocket", "DuetWebSocketProtocol", "direct_socket"]

SOCKET_EXTENSION = "duet.socket"


class DirectSocket:
    """One connection's direct path (see the module's docstring)."""

    def __init__(self, protocol: DuetWebSocketProtocol) -> None:
        self._protocol = protocol

    def send_now(self, text: str) -> bool:
        """Write ``text`` as one frame now; ``False`` (nothing written) if the transport is paused
        because the client is not reading, or the connection is closing."""
        p = self._protocol
        if p.close_sent or p.disconnected or not p.writable.is_set() or p.transport.is_closing():
            return False
        p.conn.send_text(text.encode())
        p.transport.write(b"".join(p.conn.data_to_send()))
        return True

    def deliver_to(self, on_text: Callable[[str], None]) -> None:
        """From now on, call ``on_text`` for each text frame (frames already queued for the app
        first, in order) instead of queueing them; ``on_text`` must not raise. The disconnect still
        arrives through ASGI's ``receive``. Binary frames are decoded as UTF-8, as text."""
        self._protocol.deliver_to(on_text)

    def abort(self) -> None:
        """Drop the connection now, with whatever it still had to send."""
        if self._protocol.transport is not None:
            self._protocol.transport.abort()


class DuetWebSocketProtocol(WebSocketsSansIOProtocol):
    """uvicorn's ``websockets-sansio`` protocol with a :class:`DirectSocket` in each scope."""

    _on_text: Callable[[str], None] | None = None

    def handle_connect(self, event: Request) -> None:
        super().handle_connect(event)
        scope = getattr(self, "scope", None)
        if scope is not None:  # absent when the handshake was refused
            scope["extensions"][SOCKET_EXTENSION] = DirectSocket(self)

    def deliver_to(self, on_text: Callable[[str], None]) -> None:
        queued: list[Any] = []
        while not self.queue.empty():
            queued.append(self.queue.get_nowait())
        self._on_text = on_text
        for message in queued:
            if message["type"] != "websocket.receive":
                self.queue.put_nowait(message)  # the disconnect stays for the app's receive
            elif message.get("text") is not None:
                on_text(message["text"])
            else:
                on_text(bytes(message.get("bytes") or b"").decode("utf-8", errors="replace"))
        if self.read_paused:
            self.read_paused = False
            self.transport.resume_reading()

    def send_receive_event_to_app(self) -> None:
        if self._on_text is None or self.close_sent:
            super().send_receive_event_to_app()
            return
        data = self.frames[0] if len(self.frames) == 1 else b"".join(self.frames)
        self.frames = []
        if self.curr_msg_data_type != "text":
            self._on_text(data.decode("utf-8", errors="replace"))
            return
        try:
            text = data.decode()
        except UnicodeDecodeError:  # as uvicorn does: close with 1007 (invalid frame payload data)
            self.conn.send_close(1007)
            self.handle_parser_exception()
            return
        self._on_text(text)


def direct_socket(scope: MutableMapping[str, Any]) -> DirectSocket | None:
    """The connection's direct path, when it is served through :class:`DuetWebSocketProtocol`."""
    extension = (scope.get("extensions") or {}).get(SOCKET_EXTENSION)
    return extension if isinstance(extension, DirectSocket) else None
