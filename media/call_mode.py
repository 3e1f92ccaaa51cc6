"""How a headless participant follows the server's fallback frames: the timeline, the answer, the mode.

Pure: frames go in with the time they came; out comes the ``decide`` to send, if any. What the mode
means for the local media (camera off in ``audio-only`` and ``phone``, microphone muted in
``phone``) is :func:`local_media`; the participant applies it to its peer connection.
"""

from __future__ import annotations

from typing import Literal

from media.report import FallbackEvent, QualityNote
from signaling.messages import Decide, ModeChanged, Quality, Suggest, Withdraw
from signaling.stats import CallMode

__all__ = ["FallbackFrame", "ModeFollower", "SuggestAnswer", "local_media"]

SuggestAnswer = Literal["accept", "decline", "ignore"]
"""How to answer a ``suggest`` frame: ``decide`` with ``accept: true`` or ``false``, or not at all."""

FallbackFrame = Quality | Suggest | Withdraw | ModeChanged


def local_media(mode: CallMode) -> tuple[bool, bool]:
    """(camera on, microphone muted) in ``mode``, as ``docs/protocol.md`` says both clients do."""
    return mode is CallMode.VIDEO, mode is CallMode.PHONE


class ModeFollower:
    """The call's mode as the server announced it, the latest ``quality``, and a timeline of
    ``suggest``, ``withdraw`` and ``mode`` frames (times in seconds since the participant started)."""

    def __init__(self, on_suggest: SuggestAnswer = "ignore") -> None:
        if on_suggest not in ("accept", "decline", "ignore"):
            raise ValueError(f"'on_suggest' must be in ['accept', 'decline', 'ignore'] (got {on_suggest!r})")
        self.on_suggest: SuggestAnswer = on_suggest
        self.mode: CallMode | None = None
        """``None`` until ``welcome`` said it."""
        self.quality: QualityNote | None = None
        self.events: list[FallbackEvent] = []

    def welcome(self, mode: CallMode) -> None:
        """The mode the call is in when we join (a rejoin into an audio-only call stays audio-only)."""
        self.mode = mode

    def observe(self, frame: FallbackFrame, t: float) -> Decide | None:
        """Note ``frame``, which came at ``t``; return the ``decide`` to send for a ``suggest``."""
        match frame:
            case Quality(you=you, peer=peer):
                self.quality = QualityNote(
                    t=t,
                    you=you.model_dump(mode="json", by_alias=True),
                    peer=peer.model_dump(mode="json", by_alias=True),
                )
            case Suggest():
                answer = None if self.on_suggest == "ignore" else self.on_suggest
                self.events.append(
                    FallbackEvent(
                        t,
                        "suggest",
                        mode=frame.mode.value,
                        reason=frame.reason,
                        id=frame.id,
                        at_fault=frame.at_fault.value if frame.at_fault else None,
                        answer=answer,
                    )
                )
                if answer is not None:
                    return Decide(id=frame.id, accept=answer == "accept")
            case Withdraw():
                self.events.append(FallbackEvent(t, "withdraw", id=frame.id))
            case ModeChanged():
                by = frame.by.value if frame.by else None
                self.events.append(
                    FallbackEvent(t, "mode", mode=frame.mode.value, reason=frame.reason, by=by)
                )
                self.mode = frame.mode
        return None
