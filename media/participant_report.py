"""Builds a headless participant's :class:`~media.report.ParticipantReport` from what it measured.

Pure: clock readings go in (seconds, on the participant's monotonic clock), and the report comes
out with every time counted from ``start()``. Nothing here reads a clock, a socket or a peer
connection; :meth:`~media.participant.HeadlessParticipant.report` gathers the inputs.
"""

from __future__ import annotations

from collections.abc import Sequence

from media.call_mode import ModeFollower
from media.join_url import JoinUrl
from media.received import ReceivedMedia
from media.report import ParticipantReport
from media.signaling_channel import SignalingRecord
from signaling.messages import Welcome

__all__ = ["build_report"]


def build_report(
    *,
    join_url: JoinUrl,
    welcome: Welcome | None,
    started_at: float | None,
    end: float,
    welcome_at: float | None,
    first_connected_at: float | None,
    peer_connections: int,
    connection_states: Sequence[str],
    received: ReceivedMedia,
    signaling: SignalingRecord,
    follower: ModeFollower,
    stats_sent: int,
    problems: Sequence[str],
) -> ParticipantReport:
    """The report of a session that started at ``started_at`` (``None``: never started).

    ``end`` is when it ended (``close()``), or now while it runs; ``welcome_at`` and
    ``first_connected_at`` are clock readings like ``started_at``, as are ``received``'s frame times.
    """

    def since_start(at: float | None) -> float | None:
        return None if at is None or started_at is None else at - started_at

    you = welcome.you if welcome else None
    gap = received.longest_gap("video")
    return ParticipantReport(
        room_id=join_url.room_id,
        websocket_url=join_url.websocket_url,
        role=you.role.value if you else None,
        name=you.name if you else None,
        duration_s=0.0 if started_at is None else end - started_at,
        time_to_welcome_s=since_start(welcome_at),
        time_to_connected_s=since_start(first_connected_at),
        time_to_first_video_frame_s=since_start(received.first_frame_at("video")),
        time_to_first_audio_frame_s=since_start(received.first_frame_at("audio")),
        video_frames_received=received.frames("video"),
        audio_frames_received=received.frames("audio"),
        video_frame_size=received.video_size,
        video_frame_sizes=tuple(received.video_sizes),
        peer_connections=peer_connections,
        connection_states=tuple(connection_states),
        signaling_frames=dict(signaling.frames),
        last_error=signaling.last_error,
        close_code=signaling.close_code,
        close_reason=signaling.close_reason,
        closed_by_server=signaling.closed_by_server,
        problems=tuple(problems),
        started_at=started_at,
        mode=follower.mode.value if follower.mode else None,
        stats_sent=stats_sent,
        quality=follower.quality,
        fallback_events=tuple(follower.events),
        longest_video_gap_s=gap[0] if gap else None,
        longest_video_gap_ended_s=since_start(gap[1]) if gap else None,
        last_video_frame_s=since_start(received.last_frame_at("video")),
        signaling_reconnects=len(signaling.reconnect_times),
        signaling_back_after_s=tuple(signaling.reconnect_times),
    )
