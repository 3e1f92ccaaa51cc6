"""What one headless participant saw, as a value, and its two renderings (text and JSON)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["FallbackEvent", "ParticipantReport", "QualityNote", "SignalingErrorInfo", "format_report"]


@dataclass(frozen=True, slots=True)
class SignalingErrorInfo:
    """The ``code`` and ``message`` of an ``error`` frame from the server."""

    code: str
    message: str


@dataclass(frozen=True, slots=True)
class FallbackEvent:
    """A ``suggest``, ``withdraw`` or ``mode`` frame from the server, and when it came."""

    t: float
    """Seconds since ``start()``, on the participant's clock."""
    type: str
    """``suggest``, ``withdraw`` or ``mode``."""
    mode: str | None = None
    """The suggested mode (``suggest``) or the call's new mode (``mode``)."""
    reason: str | None = None
    """The server's words: the question (``suggest``) or why the mode changed (``mode``)."""
    id: str | None = None
    """The suggestion's id (``suggest``, ``withdraw``)."""
    by: str | None = None
    """``mode``: the role that switched; ``None`` when the room's policy did."""
    at_fault: str | None = None
    """``suggest``: whose link is to blame, when the server can tell."""
    answer: str | None = None
    """``suggest``: what this participant answered, ``accept`` or ``decline`` (``None``: ignored)."""


@dataclass(frozen=True, slots=True)
class QualityNote:
    """The latest ``quality`` frame: my uplink as the other receives it (``you``) and theirs (``peer``).

    Each side is the frame's link report with its wire names (``audio``, ``video``, ``mos``,
    ``videoScore``, ``problems``).
    """

    t: float
    """Seconds since ``start()`` when it came."""
    you: dict[str, Any]
    peer: dict[str, Any]


@dataclass(frozen=True)
class ParticipantReport:
    """A snapshot of one participant's session. Times are seconds since ``start()``."""

    room_id: str
    websocket_url: str
    role: str | None = None
    """``host`` or ``guest``, from ``welcome`` (``None`` if never welcomed)."""
    name: str | None = None
    duration_s: float = 0.0
    """From ``start()`` to ``close()`` (or to the snapshot, while still running)."""
    time_to_welcome_s: float | None = None
    time_to_connected_s: float | None = None
    """Until the first ``RTCPeerConnection.connectionState == "connected"``."""
    time_to_first_video_frame_s: float | None = None
    time_to_first_audio_frame_s: float | None = None
    video_frames_received: int = 0
    """Decoded video frames, over every peer connection of the session."""
    audio_frames_received: int = 0
    """Decoded audio frames (20 ms each from a browser or another duet participant)."""
    video_frame_size: tuple[int, int] | None = None
    """(width, height) of the latest video frame received."""
    video_frame_sizes: tuple[tuple[int, int], ...] = ()
    """Every distinct (width, height) received, in order."""
    peer_connections: int = 0
    """How many ``RTCPeerConnection`` objects the session created (one per negotiation from scratch)."""
    connection_states: tuple[str, ...] = ()
    """Every ``connectionState`` in order; each peer connection starts with ``"new"``."""
    signaling_frames: dict[str, int] = field(default_factory=dict)
    """Frames received from the server, by ``type`` (``"invalid"`` for unparseable ones)."""
    last_error: SignalingErrorInfo | None = None
    close_code: int | None = None
    """Code of the server's WebSocket close frame (``None`` if none arrived)."""
    close_reason: str | None = None
    closed_by_server: bool = False
    """True when the server started the closing handshake (``bye`` makes it close with 1000)."""
    problems: tuple[str, ...] = ()
    """Things that went wrong on this side: connect failure, a negotiation step that raised."""
    started_at: float | None = None
    """The participant's clock at ``start()`` (``time.monotonic()`` unless another clock was given):
    ``started_at + t`` places an event on a benchmark's own monotonic timeline."""
    mode: str | None = None
    """The call's mode now: from ``welcome``, then from every ``mode`` frame."""
    stats_sent: int = 0
    """``stats`` reports sent, over every peer connection."""
    quality: QualityNote | None = None
    """The latest ``quality`` frame (their count is in ``signaling_frames``)."""
    fallback_events: tuple[FallbackEvent, ...] = ()
    """Every ``suggest``, ``withdraw`` and ``mode`` frame, in order of arrival."""
    longest_video_gap_s: float | None = None
    """The longest time between two received video frames (seconds): an outage shows here."""
    longest_video_gap_ended_s: float | None = None
    """When that gap ended: the first frame after it (seconds since ``start()``)."""
    last_video_frame_s: float | None = None
    """When the latest video frame arrived (seconds since ``start()``)."""
    signaling_reconnects: int = 0
    """Times the signaling socket dropped and was joined again (by itself, with backoff)."""
    signaling_back_after_s: tuple[float, ...] = ()
    """For each reconnect, seconds from losing the socket to the new ``welcome``."""

    @property
    def ok(self) -> bool:
        """Connected, and received both video and audio, with nothing failing on this side."""
        return (
            self.time_to_connected_s is not None
            and self.video_frames_received > 0
            and self.audio_frames_received > 0
            and not self.problems
        )

    @property
    def video_fps(self) -> float | None:
        """Average received frame rate from the first video frame to the end (frames per second)."""
        if self.time_to_first_video_frame_s is None:
            return None
        span = self.duration_s - self.time_to_first_video_frame_s
        return self.video_frames_received / span if span > 0 else None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict: every field, plus ``ok`` and ``video_fps``."""
        data = asdict(self)
        data["ok"] = self.ok
        data["video_fps"] = None if self.video_fps is None else round(self.video_fps, 2)
        return data


def format_report(report: ParticipantReport, as_json: bool = False) -> str:
    """Render a report for ``duet join``: JSON (one object, stable keys) or aligned human text."""
    if as_json:
        return json.dumps(report.to_dict(), indent=2, sort_keys=True)
    who = (
        f"as {report.role}" + (f" ({report.name})" if report.name else "") if report.role else "(not joined)"
    )
    size = report.video_frame_size
    fps = report.video_fps
    rows = [
        ("signaling", report.websocket_url),
        ("welcome after", _seconds(report.time_to_welcome_s)),
        ("connected after", _seconds(report.time_to_connected_s)),
        ("first video frame", _seconds(report.time_to_first_video_frame_s)),
        ("first audio frame", _seconds(report.time_to_first_audio_frame_s)),
        (
            "video frames",
            f"{report.video_frames_received}"
            + (f" at {size[0]}x{size[1]}" if size else "")
            + (f", {fps:.1f} fps" if fps is not None else ""),
        ),
        ("audio frames", str(report.audio_frames_received)),
        ("peer connections", str(report.peer_connections)),
        ("connection states", " -> ".join(report.connection_states) or "-"),
        (
            "signaling frames",
            ", ".join(f"{kind} {count}" for kind, count in sorted(report.signaling_frames.items())) or "-",
        ),
        (
            "last error",
            f"{report.last_error.code}: {report.last_error.message}" if report.last_error else "-",
        ),
        ("socket closed", _close(report)),
        ("duration", _seconds(report.duration_s)),
        ("stats reports", str(report.stats_sent)),
        ("call mode", report.mode or "-"),
        ("quality", _quality(report.quality)),
        (
            "longest video gap",
            "-"
            if report.longest_video_gap_s is None
            else f"{report.longest_video_gap_s:.3f} s, until {_seconds(report.longest_video_gap_ended_s)}",
        ),
        (
            "reconnects",
            f"{report.signaling_reconnects}"
            + (
                " (back after " + ", ".join(f"{t:.3f} s" for t in report.signaling_back_after_s) + ")"
                if report.signaling_back_after_s
                else ""
            ),
        ),
    ]
    rows += [("fallback", _event(event)) for event in report.fallback_events]
    rows += [("problem", problem) for problem in report.problems]
    rows.append(("result", "OK" if report.ok else "NOT OK"))
    width = max(len(label) for label, _ in rows)
    lines = [f"duet join: room {report.room_id} {who}"]
    lines += [f"  {label.ljust(width)}  {value}" for label, value in rows]
    return "\n".join(lines)


def _quality(note: QualityNote | None) -> str:
    if note is None:
        return "-"

    def side(link: dict[str, Any]) -> str:
        problems = "; ".join(link.get("problems") or [])
        return f"audio {link.get('audio')}, video {link.get('video')}" + (
            f" ({problems})" if problems else ""
        )

    return f"you: {side(note.you)} | peer: {side(note.peer)} (at {note.t:.3f} s)"


def _event(event: FallbackEvent) -> str:
    text = f"{event.t:.3f} s {event.type}"
    if event.mode:
        text += f" {event.mode}"
    if event.id:
        text += f" [{event.id}]"
    if event.type == "mode":
        text += f" by {event.by or 'the room'}"
    if event.reason:
        text += f": {event.reason}"
    if event.type == "suggest":
        text += f" ({event.answer or 'not answered'})"
    return text


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f} s"


def _close(report: ParticipantReport) -> str:
    if report.close_code is None:
        return "-"
    by = "by the server" if report.closed_by_server else "by us"
    reason = f" ({report.close_reason})" if report.close_reason else ""
    return f"{report.close_code}{reason} {by}"
