"""A room's live link quality, per direction, from both participants' stats reports.

The direction "Ana → Ben" is Ana's uplink: it is measured where it arrives, in Ben's inbound
streams, and explained by what Ana reports of her own sending (bandwidth estimate, frames sent).
So each report updates the direction *towards* its author (from its inbound stats) and the
direction *from* its author (from its outbound stats). Pure: the clock is passed in.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from media.quality_score import (
    MAX_GAP_INTERVALS,
    AsymmetricSmoother,
    InboundWindow,
    SenderWindow,
    audio_level,
    inbound_window,
    mos,
    sender_window,
    video_level,
    video_score,
)
from signaling.messages import Role
from signaling.stats import AudioLevel, Stats, VideoLevel

__all__ = ["DirectionQuality", "LinkQuality", "ParticipantLink", "RoomQuality"]

WARMUP_S = 10.0
"""Video is not judged for 10 s after it starts or comes back: encoders ramp up their bitrate and
resolution over the first seconds (the issue's rule; WebRTC's bandwidth estimator starts at
300 kbit/s and probes up)."""
AUDIO_LOST_WINDOWS = 2
"""Audio counts as lost after two report windows with no audio bytes at all (~4 s): Opus sends a
packet at least every 400 ms even in silence (DTX), so 4 s of nothing is an outage, not a pause."""


@dataclass(frozen=True, slots=True)
class DirectionQuality:
    """One person's uplink as the other receives it."""

    sender: Role
    mos: float | None
    audio: AudioLevel
    video_score: float | None
    video: VideoLevel
    loss: float | None
    """Fraction of audio packets lost in the last window (the signal left in audio-only)."""
    rtt_s: float | None
    uplink_bps: float | None
    problems: tuple[str, ...]
    audio_flowing: bool = True
    """Audio arrived in the last window (a total outage stops it before it counts as lost)."""


@dataclass(frozen=True, slots=True)
class ParticipantLink:
    """What one participant's own reports say about its connection."""

    role: Role
    last_report_at: float | None
    ice_state: str | None
    connection_state: str | None
    sending_video: bool


@dataclass(frozen=True, slots=True)
class RoomQuality:
    at: float
    directions: dict[Role, DirectionQuality]
    """Keyed by the sender: ``directions[HOST]`` is the host's uplink."""
    participants: dict[Role, ParticipantLink]


@dataclass(slots=True)
class _Direction:
    mos: AsymmetricSmoother = field(default_factory=AsymmetricSmoother)
    video: AsymmetricSmoother = field(default_factory=AsymmetricSmoother)
    silent_windows: int = 0
    loss: float | None = None
    rtt_s: float | None = None
    problems: tuple[str, ...] = ()
    video_since: float | None = None
    """When the sender's video (re)started: judging starts ``WARMUP_S`` later."""
    sender: SenderWindow | None = None


@dataclass(slots=True)
class _Author:
    last: Stats | None = None
    last_at: float | None = None
    sending_video: bool = False


class LinkQuality:
    """Keeps each participant's previous report and the smoothed scores of both directions."""

    def __init__(self, *, interval_s: float, warmup_s: float = WARMUP_S) -> None:
        self.interval_s = interval_s
        self.warmup_s = warmup_s
        self._authors = {role: _Author() for role in Role}
        self._directions = {role: _Direction() for role in Role}

    def add_report(self, role: Role, stats: Stats, now: float) -> None:
        author = self._authors[role]
        prev, prev_at = author.last, author.last_at
        author.last, author.last_at = stats, now
        sending = (
            bool(stats.sending_video) if stats.sending_video is not None else stats.outbound.video is not None
        )
        mine = self._directions[role]  # my uplink
        if sending and not author.sending_video:
            mine.video_since = now
            mine.video.reset()
        author.sending_video = sending
        if prev is None or prev_at is None:
            return
        seconds = now - prev_at
        if seconds <= 0 or seconds > MAX_GAP_INTERVALS * self.interval_s:
            return
        mine.sender = sender_window(prev.outbound.video, stats.outbound.video, stats.candidate_pair, seconds)
        self._score_incoming(role.other, prev, stats, seconds, now)

    def _score_incoming(self, sender: Role, prev: Stats, cur: Stats, seconds: float, now: float) -> None:
        """Score ``sender``'s uplink from the receiver's two reports ``prev`` → ``cur``."""
        direction = self._directions[sender]
        rtt = _rtt(cur, self._authors[sender].last)
        direction.rtt_s = rtt
        problems: list[str] = []
        audio = inbound_window(prev.inbound.audio, cur.inbound.audio, seconds)
        if audio is not None:
            direction.silent_windows = direction.silent_windows + 1 if audio.bytes_received == 0 else 0
            if audio.packets_received > 0:
                direction.loss = audio.loss or 0.0
                direction.mos.add(_audio_mos(audio, rtt))
            if direction.loss is not None and direction.loss >= 0.05:
                problems.append(f"{direction.loss:.0%} of audio packets lost")
        if rtt is not None and rtt >= 0.4:
            problems.append(f"{rtt * 1000:.0f} ms round trip")
        video = inbound_window(prev.inbound.video, cur.inbound.video, seconds)
        warm = direction.video_since is not None and now - direction.video_since >= self.warmup_s
        if video is not None and warm and self._authors[sender].sending_video:
            scored = video_score(video, direction.sender)
            direction.video.add(scored.score)
            problems.extend(scored.problems)
        direction.problems = tuple(problems)

    def snapshot(self, now: float) -> RoomQuality:
        directions = {}
        for sender, d in self._directions.items():
            sending = self._authors[sender].sending_video
            lost = d.silent_windows >= AUDIO_LOST_WINDOWS
            uplink = d.sender.available_outgoing_bitrate if d.sender else None
            problems = ("audio is not arriving", *d.problems) if lost else d.problems
            directions[sender] = DirectionQuality(
                sender=sender,
                mos=d.mos.value,
                audio=audio_level(d.mos.value, lost=lost),
                video_score=d.video.value if sending else None,
                video=video_level(d.video.value, sending=sending),
                loss=d.loss,
                rtt_s=d.rtt_s,
                uplink_bps=uplink,
                problems=problems,
                audio_flowing=d.silent_windows == 0,
            )
        participants = {
            role: ParticipantLink(
                role=role,
                last_report_at=a.last_at,
                ice_state=a.last.ice_state if a.last else None,
                connection_state=a.last.connection_state if a.last else None,
                sending_video=a.sending_video,
            )
            for role, a in self._authors.items()
        }
        return RoomQuality(at=now, directions=directions, participants=participants)

    def forget(self, role: Role) -> None:
        """``role`` left or started a new peer connection: its counters start again."""
        self._authors[role] = _Author()
        for d in self._directions.values():
            d.silent_windows = 0
        self._directions[role] = _Direction()


def _rtt(receiver: Stats, sender: Stats | None) -> float | None:
    for pair in (receiver.candidate_pair, sender.candidate_pair if sender else None):
        if pair is not None and pair.current_round_trip_time is not None:
            return pair.current_round_trip_time
    for report in (receiver, sender):
        if report is None:
            continue
        for remote in (report.remote_inbound.audio, report.remote_inbound.video):
            if remote is not None and remote.round_trip_time is not None:
                return remote.round_trip_time
    return None


def _audio_mos(window: InboundWindow, rtt_s: float | None) -> float:
    return mos(
        rtt_s=rtt_s or 0.0,
        jitter_s=window.jitter_s or 0.0,
        jitter_buffer_s=window.jitter_buffer_delay_s or 0.0,
        loss=window.loss or 0.0,
    )
