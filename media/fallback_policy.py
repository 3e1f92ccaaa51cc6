"""When to suggest audio-only, the phone, or video back: one state machine per room, pure.

Feed it the room's :class:`~media.link_quality.RoomQuality` every time a report arrives (and on a
timer, so silence is noticed); feed it what people decide. It answers with outputs: a suggestion to
make, one to withdraw, a mode switch. It never repeats itself: a suggestion is made once, a declined
one is not made again for a cool-down unless things got worse.
"""

from __future__ import annotations

import enum
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field

from media.link_quality import RoomQuality
from signaling.messages import Role
from signaling.stats import AudioLevel, CallMode, VideoLevel

__all__ = [
    "Cause",
    "FallbackPolicy",
    "PolicyConfig",
    "PolicyOutput",
    "RoomPolicy",
    "Suggest",
    "Suggestion",
    "Switch",
    "UnknownSuggestion",
    "Withdraw",
]


class RoomPolicy(enum.StrEnum):
    """How a room reacts to a bad link: ask people, switch by itself, or only show the indicator."""

    PROMPT = "prompt"
    AUTO = "auto"
    OFF = "off"


class Cause(enum.StrEnum):
    VIDEO_POOR = "video-poor"
    AUDIO_BAD = "audio-bad"
    CONNECTION_DOWN = "connection-down"
    REPORTS_STOPPED = "reports-stopped"
    RECOVERED = "recovered"
    PERSON = "person"
    """Someone switched by hand."""


_SEVERITY = {CallMode.VIDEO: 0, CallMode.AUDIO_ONLY: 1, CallMode.PHONE: 2}
_DOWN_STATES = {"disconnected", "failed"}


@dataclass(frozen=True, slots=True)
class PolicyConfig:
    """How long each condition must last (seconds). Ranges from the issue, picked to meet its targets."""

    video_poor_s: float = 6.0
    """Sustained poor video before audio-only is suggested (issue: 6-15 s; target < 8 s median)."""
    audio_bad_s: float = 8.0
    """Sustained bad or lost audio before the phone is suggested (issue: 10-20 s after onset; the
    smoothed score needs 2-6 s to fall, so 8 s sustained lands inside the 15 s target)."""
    connection_down_s: float = 10.0
    """ICE disconnected or failed this long (issue: ≥ 10 s)."""
    reports_stale_s: float = 15.0
    """A participant silent this long has lost its network (issue: 15 s)."""
    recovery_s: float = 25.0
    """Sustained good link before video is offered back (issue: 20-30 s)."""
    cooldown_s: float = 180.0
    """A declined suggestion is not repeated for this long (issue: ~3 min)."""
    worse_by: float = 15.0
    """Points of video score by which things must get worse to re-suggest within the cool-down."""
    recovery_max_loss: float = 0.02
    """Video comes back only on under 2% loss: stricter than the 6% that sent it away (hysteresis)."""
    recovery_max_rtt_s: float = 0.3
    recovery_min_uplink_bps: float = 300_000.0
    """Where the sender's bandwidth estimate is known, at least 300 kbit/s for a small video."""
    relapse_s: float = 120.0
    """Video that turns poor again this soon after coming back doubles the next recovery wait (up
    to 8x), so a cause audio-only statistics cannot see (a 2 fps camera) does not ping-pong."""
    report_interval_s: float = 2.0
    """Seconds one report covers: a condition first seen in a report began with that report's
    window, so its duration is counted from the window's start."""


@dataclass(frozen=True, slots=True)
class Suggestion:
    id: str
    mode: CallMode
    cause: Cause
    at_fault: Role | None
    """Whose link is to blame, when the policy can tell."""
    to: tuple[Role, ...]
    """Who is asked."""
    at: float


@dataclass(frozen=True, slots=True)
class Suggest:
    suggestion: Suggestion


@dataclass(frozen=True, slots=True)
class Withdraw:
    suggestion: Suggestion
    why: str


@dataclass(frozen=True, slots=True)
class Switch:
    """The room's mode changed; everyone must follow."""

    mode: CallMode
    previous: CallMode
    by: Role | None
    """Who switched (``None``: the room's policy switched by itself)."""
    cause: Cause
    at_fault: Role | None
    suggestion: Suggestion | None


PolicyOutput = Suggest | Withdraw | Switch


class UnknownSuggestion(LookupError):
    """A decision names a suggestion that is not pending for that person."""


@dataclass(slots=True)
class _Declined:
    at: float
    video_score: float | None


@dataclass(slots=True)
class _Timers:
    video_poor: dict[Role, float] = field(default_factory=dict)
    audio_bad: dict[Role, float] = field(default_factory=dict)
    down: dict[Role, float] = field(default_factory=dict)
    good_since: float | None = None


class FallbackPolicy:
    """The room's call mode and the suggestions made about it."""

    def __init__(
        self,
        *,
        policy: RoomPolicy = RoomPolicy.PROMPT,
        config: PolicyConfig | None = None,
        mode: CallMode = CallMode.VIDEO,
        new_id: Callable[[], str] | None = None,
    ) -> None:
        self.policy = policy
        self.config = config or PolicyConfig()
        self.mode = mode
        self.pending: Suggestion | None = None
        self._declined: dict[CallMode, _Declined] = {}
        self._decliners: set[Role] = set()
        self._timers = _Timers()
        self._last_scores: dict[Role, float | None] = {}
        self._video_back_at: float | None = None
        self._recovery_factor = 1.0
        counter = itertools.count(1)
        self._new_id = new_id or (lambda: f"s{next(counter)}")

    # --- inputs ------------------------------------------------------------

    def evaluate(self, quality: RoomQuality, now: float) -> list[PolicyOutput]:
        """Look at the link; return what to suggest, withdraw or switch."""
        self._update_timers(quality, now)
        if self.policy is RoomPolicy.OFF:
            return []
        wanted = self._wanted(quality, now)
        outputs: list[PolicyOutput] = []
        pending = self.pending
        if pending is not None and (wanted is None or wanted[0] is not pending.mode):
            self.pending = None
            outputs.append(Withdraw(pending, "the link changed"))
        if wanted is None or (self.pending is not None and self.pending.mode is wanted[0]):
            return outputs
        mode, cause, at_fault, to = wanted
        if self._cooling_down(mode, quality, now):
            return outputs
        suggestion = Suggestion(self._new_id(), mode, cause, at_fault, to, now)
        if self.policy is RoomPolicy.AUTO:
            return [*outputs, self._switch(mode, None, cause, at_fault, suggestion, now)]
        self.pending, self._decliners = suggestion, set()
        return [*outputs, Suggest(suggestion)]

    def decide(self, role: Role, suggestion_id: str, accept: bool, now: float) -> list[PolicyOutput]:
        """``role`` answered a suggestion. Raises :class:`UnknownSuggestion` for a stale or foreign id."""
        pending = self.pending
        if pending is None or pending.id != suggestion_id or role not in pending.to:
            raise UnknownSuggestion(f"expected a pending suggestion for {role.value}, got {suggestion_id!r}")
        if accept:
            return [self._switch(pending.mode, role, pending.cause, pending.at_fault, pending, now)]
        self._decliners.add(role)
        if self._decliners >= set(pending.to):
            video = [score for score in self._last_scores.values() if score is not None]
            self._declined[pending.mode] = _Declined(now, min(video) if video else None)
            self.pending = None
        return []

    def set_mode(self, role: Role, mode: CallMode, now: float) -> list[PolicyOutput]:
        """Someone switched by hand (the audio-only button, camera back on)."""
        if mode is self.mode:
            return []
        return [self._switch(mode, role, Cause.PERSON, None, None, now)]

    def forget(self, role: Role) -> None:
        """``role`` left the room: its timers go."""
        for timers in (self._timers.video_poor, self._timers.audio_bad, self._timers.down):
            timers.pop(role, None)
        self._timers.good_since = None

    # --- internals -----------------------------------------------------------

    def _switch(
        self,
        mode: CallMode,
        by: Role | None,
        cause: Cause,
        at_fault: Role | None,
        suggestion: Suggestion | None,
        now: float,
    ) -> Switch:
        previous, self.mode, self.pending = self.mode, mode, None
        self._timers = _Timers()
        if mode is CallMode.VIDEO:
            self._video_back_at = now
        elif cause is Cause.VIDEO_POOR:
            relapsed = self._video_back_at is not None and now - self._video_back_at < self.config.relapse_s
            self._recovery_factor = min(8.0, self._recovery_factor * 2) if relapsed else 1.0
        if _SEVERITY[mode] < _SEVERITY[previous]:
            self._declined.clear()  # the link got better: earlier refusals no longer say much
        return Switch(mode, previous, by, cause, at_fault, suggestion)

    def _update_timers(self, quality: RoomQuality, now: float) -> None:
        t = self._timers
        self._last_scores = {role: d.video_score for role, d in quality.directions.items()}
        began = now - self.config.report_interval_s
        for sender, d in quality.directions.items():
            _track(t.video_poor, sender, self.mode is CallMode.VIDEO and d.video is VideoLevel.POOR, began)
            _track(t.audio_bad, sender, d.audio in (AudioLevel.BAD, AudioLevel.LOST), began)
        for role, p in quality.participants.items():
            down = p.ice_state in _DOWN_STATES or p.connection_state in _DOWN_STATES
            _track(t.down, role, down, began)
        good = self._recovered(quality, now)
        if not good:
            t.good_since = None
        elif t.good_since is None:
            t.good_since = now

    def _recovered(self, quality: RoomQuality, now: float) -> bool:
        c = self.config
        for d in quality.directions.values():
            if d.audio not in (AudioLevel.EXCELLENT, AudioLevel.GOOD):
                return False
            if d.loss is None or d.loss > c.recovery_max_loss:
                return False
            if d.rtt_s is not None and d.rtt_s > c.recovery_max_rtt_s:
                return False
            if d.uplink_bps is not None and d.uplink_bps < c.recovery_min_uplink_bps:
                return False
        return all(
            p.last_report_at is not None
            and now - p.last_report_at < c.reports_stale_s
            and p.ice_state not in _DOWN_STATES
            and p.connection_state not in _DOWN_STATES
            for p in quality.participants.values()
        )

    def _wanted(
        self, quality: RoomQuality, now: float
    ) -> tuple[CallMode, Cause, Role | None, tuple[Role, ...]] | None:
        c, t = self.config, self._timers
        both = (Role.HOST, Role.GUEST)
        if self.mode is not CallMode.PHONE:
            for role, p in quality.participants.items():
                if p.last_report_at is not None and now - p.last_report_at >= c.reports_stale_s:
                    return CallMode.PHONE, Cause.REPORTS_STOPPED, role, (role.other,)
            if _held(t.down, now, c.connection_down_s):
                return CallMode.PHONE, Cause.CONNECTION_DOWN, None, both
            if senders := _held(t.audio_bad, now, c.audio_bad_s):
                return CallMode.PHONE, Cause.AUDIO_BAD, _one(senders), both
        if self.mode is CallMode.VIDEO and (senders := _held(t.video_poor, now, c.video_poor_s)):
            # Audio-only helps only while audio still gets through; in an outage wait for the phone.
            senders = tuple(s for s in senders if quality.directions[s].audio_flowing)
            if senders:
                return CallMode.AUDIO_ONLY, Cause.VIDEO_POOR, _one(senders), senders
        recovery_s = c.recovery_s * self._recovery_factor
        if self.mode is not CallMode.VIDEO and t.good_since is not None and now - t.good_since >= recovery_s:
            return CallMode.VIDEO, Cause.RECOVERED, None, both
        return None

    def _cooling_down(self, mode: CallMode, quality: RoomQuality, now: float) -> bool:
        declined = self._declined.get(mode)
        if declined is None or now - declined.at >= self.config.cooldown_s:
            return False
        if mode is CallMode.AUDIO_ONLY and declined.video_score is not None:
            scores = [d.video_score for d in quality.directions.values() if d.video_score is not None]
            return not scores or min(scores) > declined.video_score - self.config.worse_by
        return True


def _track(since: dict[Role, float], role: Role, condition: bool, now: float) -> None:
    if not condition:
        since.pop(role, None)
    else:
        since.setdefault(role, now)


def _held(since: dict[Role, float], now: float, seconds: float) -> tuple[Role, ...]:
    """The roles whose condition has held for at least ``seconds``, host first."""
    return tuple(role for role in (Role.HOST, Role.GUEST) if role in since and now - since[role] >= seconds)


def _one(roles: tuple[Role, ...]) -> Role | None:
    """The one to blame, or ``None`` when both directions suffer alike."""
    return roles[0] if len(roles) == 1 else None
