"""The errors the headless participant raises; one small hierarchy for ``media/``."""

from __future__ import annotations

__all__ = ["JoinUrlError", "ParticipantError", "SignalingClosedError"]


class ParticipantError(Exception):
    """Base class of everything ``media/`` raises on purpose."""


class JoinUrlError(ParticipantError, ValueError):
    """A join URL that cannot be used; the message says what was expected and what came."""


class SignalingClosedError(ParticipantError):
    """The signaling socket ended before what the caller was waiting for happened.

    ``close_code`` is the code of the server's close frame (``None`` if the socket
    died without one); ``error_code`` / ``error_message`` come from the last
    ``error`` frame the server sent, if any.
    """

    def __init__(
        self,
        waiting_for: str,
        *,
        close_code: int | None,
        error_code: str | None = None,
        error_message: str | None = None,
    ) -> None:
        detail = f"close code {close_code}" if close_code is not None else "no close code"
        if error_code is not None:
            detail += f", last error {error_code!r}: {error_message}"
        super().__init__(f"signaling closed while waiting for {waiting_for} ({detail})")
        self.waiting_for = waiting_for
        self.close_code = close_code
        self.error_code = error_code
        self.error_message = error_message
