"""Where a headless participant's signaling is, and the error for a call made in the wrong phase.

The phases are the participant's; :class:`~media.room_session.RoomSession` is the one place that
moves between them.
"""

from __future__ import annotations

import enum

from media.errors import ParticipantError

__all__ = ["ParticipantPhase", "ParticipantStateError"]


class ParticipantPhase(enum.StrEnum):
    """Where the participant's signaling is."""

    NEW = "new"
    JOINING = "joining"
    """Socket open, ``join`` sent, no ``welcome`` yet."""
    JOINED = "joined"
    RECONNECTING = "reconnecting"
    """The socket dropped after ``welcome``; reconnecting with backoff, the peer connection kept."""
    DISCONNECTED = "disconnected"
    """The signaling socket ended; the peer connection, if any, is left running until ``close()``."""
    CLOSED = "closed"


class ParticipantStateError(ParticipantError, RuntimeError):
    """A method was called in a phase where it makes no sense."""
