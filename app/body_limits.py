"""Request body limits, the one place they are enforced: before any route parses a body or checks a key.

A pure ASGI middleware (no buffering): a request whose ``Content-Length`` is over its path's limit is
answered 413 at once and never reaches the app; a body without a length (``chunked``) is counted as
it streams in, and refused once it passes the limit. Either way the app never holds more than the
limit of one request's body, and the refusal closes the connection, so the rest of the body is not
read either.
"""

from __future__ import annotations

from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.errors import PayloadTooLarge, error_response

__all__ = ["JSON_MAX_BYTES", "WEBHOOK_MAX_BYTES", "BodyLimits", "body_limit"]

JSON_MAX_BYTES = 64 * 1024
"""Largest body of the JSON API and the page's requests, in bytes: a room with the most metadata
(16 KiB) or a pre-call offer (SDP of a few KiB with all candidates) fits several times over."""
WEBHOOK_MAX_BYTES = 16 * 1024
"""Largest body under ``/phone/`` (the provider's form-encoded webhooks), in bytes: Twilio's voice
and conference callbacks are under 2 KB."""


def body_limit(path: str) -> int:
    """The largest body a request to ``path`` may carry, in bytes."""
    return WEBHOOK_MAX_BYTES if path.startswith("/phone/") else JSON_MAX_BYTES


def _declared_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length" and value.isdigit():
            return int(value)
    return None


async def _refuse(scope: Scope, receive: Receive, send: Send, limit: int) -> None:
    error = PayloadTooLarge(f"The request body is larger than {limit} bytes.")
    # Closing the connection means the rest of the body is never read.
    await error_response(error, headers={"Connection": "close"})(scope, receive, send)


class BodyLimits:
    """ASGI middleware: refuses (413, the API's JSON error) any HTTP request body over its limit."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = body_limit(scope["path"])
        declared = _declared_length(scope)
        if declared is not None and declared > limit:
            await _refuse(scope, receive, send, limit)
            return
        received = 0
        refused = False
        started = False

        async def counted_receive() -> Message:
            nonlocal received, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    refused = True
                    if not started:
                        await _refuse(scope, receive, send, limit)
                    # To the app the client is gone: it stops reading and its answer goes nowhere.
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if refused:
                return
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counted_receive, guarded_send)
        except ClientDisconnect:
            if not refused:
                raise  # a real disconnect; a refused body's is ours, and answered already
