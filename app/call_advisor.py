"""The room's advisor: link quality and the fallback policy, speaking to people in words.

Implements :class:`signaling.room.Advisor` with :mod:`media.link_quality` and
:mod:`media.fallback_policy`. Pure like them: the clock comes in, frames and events go out.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from media.fallback_policy import (
    Cause,
    FallbackPolicy,
    PolicyConfig,
    PolicyOutput,
    RoomPolicy,
    Suggest,
    Suggestion,
    Switch,
    UnknownSuggestion,
    Withdraw,
)
from media.link_quality import DirectionQuality, LinkQuality
from signaling.events import (
    Accepted,
    DecisionData,
    Declined,
    ModeData,
    ModeSwitched,
    QualityData,
    QualitySample,
    Suggested,
    SuggestedData,
    Withdrawn,
    WithdrawnData,
)
from signaling.messages import (
    BackupPlan,
    CallMode,
    Decide,
    Error,
    ErrorCode,
    LinkReport,
    ModeChanged,
    Quality,
    Role,
    SetMode,
    Stats,
)
from signaling.messages import Suggest as SuggestFrame
from signaling.messages import Withdraw as WithdrawFrame
from signaling.room import Advice, Record

__all__ = ["CallAdvisor", "backup_plan", "room_backups"]

SAMPLE_EVERY_S = 10.0
"""Quality samples are stored at most every 10 s per direction (five reports): enough for a report."""


def backup_plan(*, peer_phone: str | None, dial_in: str | None, pin: str | None) -> BackupPlan | None:
    if not peer_phone and not (dial_in and pin):
        return None
    # The "#" that ends the PIN starts a fragment in a URL: RFC 3966 spells it %23.
    link = f"tel:{dial_in},,{pin}%23" if dial_in and pin else None
    return BackupPlan(peer_phone=peer_phone, dial_in=dial_in if pin else None, pin=pin, dial_in_link=link)


def room_backups(
    *, phones: dict[Role, tuple[str | None, bool]], dial_in: str | None, pin: str | None
) -> dict[Role, BackupPlan | None]:
    """Each person's backup plan: the other's number if they agreed to share it, and the dial-in."""
    return {
        role: backup_plan(
            peer_phone=phones[role.other][0] if phones[role.other][1] else None, dial_in=dial_in, pin=pin
        )
        for role in Role
    }


@dataclass(frozen=True, slots=True)
class _Words:
    names: dict[Role, str]

    def whose(self, role: Role | None, to: Role) -> str:
        if role is None:
            return "The"
        return "Your" if role is to else f"{self.names[role]}'s"

    def question(self, s: Suggestion, to: Role) -> str:
        peer = self.names[to.other]
        match s.mode, s.cause:
            case CallMode.AUDIO_ONLY, _:
                if s.at_fault is to:
                    return "Your video is lagging. Switch to audio only?"
                return f"{peer}'s video is lagging. Switch to audio only?"
            case CallMode.PHONE, Cause.REPORTS_STOPPED:
                return f"{peer}'s connection dropped. Continue by phone?"
            case CallMode.PHONE, Cause.CONNECTION_DOWN:
                return f"The connection between you and {peer} is down. Continue by phone?"
            case CallMode.PHONE, _:
                return f"{self.whose(s.at_fault, to)} connection is too weak for a call. Continue by phone?"
            case _:
                return "Video is back to good. Turn your camera on?"

    def switched(self, switch: Switch, to: Role) -> str:
        if switch.cause is Cause.PERSON and switch.by is not None:
            who = "You" if switch.by is to else self.names[switch.by]
            return {
                CallMode.VIDEO: f"{who} turned video back on.",
                CallMode.AUDIO_ONLY: f"{who} switched the call to audio only.",
                CallMode.PHONE: f"{who} moved the call to the phone.",
            }[switch.mode]
        if switch.mode is CallMode.VIDEO:
            return "The connection is good again: video is back."
        weak = f"{self.whose(switch.at_fault, to)} connection is weak"
        if switch.at_fault is None:
            weak = "The connection is weak"
        target = "audio only" if switch.mode is CallMode.AUDIO_ONLY else "the phone"
        return f"{weak}, so the call switched to {target}."


def _link_report(d: DirectionQuality) -> LinkReport:
    return LinkReport(
        audio=d.audio,
        video=d.video,
        mos=None if d.mos is None else round(d.mos, 2),
        video_score=None if d.video_score is None else round(d.video_score),
        problems=list(d.problems),
    )


class CallAdvisor:
    """One room's quality watcher and fallback policy."""

    def __init__(
        self,
        *,
        names: dict[Role, str],
        policy: RoomPolicy,
        backups: dict[Role, BackupPlan | None],
        interval_s: float,
        warmup_s: float = 10.0,
        config: PolicyConfig | None = None,
        mode: CallMode = CallMode.VIDEO,
    ) -> None:
        """``mode``: the call's mode to start in (the one before a server restart)."""
        self._words = _Words(names)
        self._backups = backups
        self._quality = LinkQuality(interval_s=interval_s, warmup_s=warmup_s)
        self._policy = FallbackPolicy(policy=policy, config=config, mode=mode)
        self._sampled_at: dict[Role, float] = {}

    @property
    def mode(self) -> CallMode:
        return self._policy.mode

    @property
    def policy(self) -> RoomPolicy:
        return self._policy.policy

    def set_policy(self, policy: RoomPolicy) -> None:
        self._policy.policy = policy

    def backup(self, role: Role) -> BackupPlan | None:
        return self._backups.get(role)

    def observe(self, role: Role, message: Stats | Decide | SetMode, now: float) -> list[Advice | Record]:
        match message:
            case Stats():
                self._quality.add_report(role, message, now)
                snapshot = self._quality.snapshot(now)
                you, peer = snapshot.directions[role], snapshot.directions[role.other]
                out: list[Advice | Record] = [
                    Advice(role, Quality(you=_link_report(you), peer=_link_report(peer)))
                ]
                out += self._samples(snapshot.directions.values(), now)
                return out + self._render(self._policy.evaluate(snapshot, now))
            case Decide(id=suggestion_id, accept=accept):
                try:
                    outputs = self._policy.decide(role, suggestion_id, accept, now)
                except UnknownSuggestion:
                    error = Error(
                        code=ErrorCode.UNKNOWN_SUGGESTION, message="That suggestion is no longer open."
                    )
                    return [Advice(role, error)]
                data = DecisionData(id=suggestion_id)
                decision = Accepted(role=role, data=data) if accept else Declined(role=role, data=data)
                return [Record(decision), *self._render(outputs)]
            case SetMode(mode=mode):
                return self._render(self._policy.set_mode(role, mode, now))

    def paired(self, now: float) -> list[Advice | Record]:
        # A fresh peer connection restarts every counter on both sides.
        for role in Role:
            self._quality.forget(role)
        return []

    def left(self, role: Role, now: float) -> list[Advice | Record]:
        self._quality.forget(role)
        self._policy.forget(role)
        return []

    def tick(self, now: float) -> list[Advice | Record]:
        return self._render(self._policy.evaluate(self._quality.snapshot(now), now))

    def _samples(self, directions: Iterable[DirectionQuality], now: float) -> list[Advice | Record]:
        out: list[Advice | Record] = []
        for d in directions:
            if d.mos is None and d.video_score is None:
                continue
            if now - self._sampled_at.get(d.sender, -SAMPLE_EVERY_S) < SAMPLE_EVERY_S:
                continue
            self._sampled_at[d.sender] = now
            data = QualityData(
                mos=None if d.mos is None else round(d.mos, 2),
                audio=d.audio,
                video_score=None if d.video_score is None else round(d.video_score, 1),
                video=d.video,
                mode=self.mode,
            )
            out.append(Record(QualitySample(role=d.sender, data=data)))
        return out

    def _render(self, outputs: list[PolicyOutput]) -> list[Advice | Record]:
        out: list[Advice | Record] = []
        for output in outputs:
            match output:
                case Suggest(suggestion=s):
                    backup = None
                    for to in s.to:
                        backup = self._backups.get(to) if s.mode is CallMode.PHONE else None
                        frame = SuggestFrame(
                            id=s.id,
                            mode=s.mode,
                            reason=self._words.question(s, to),
                            at_fault=s.at_fault,
                            backup=backup,
                        )
                        out.append(Advice(to, frame))
                    to_names = ",".join(r.value for r in s.to)
                    data = SuggestedData(id=s.id, mode=s.mode, cause=s.cause.value, to=to_names)
                    out.append(Record(Suggested(role=s.at_fault, data=data)))
                case Withdraw(suggestion=s):
                    out += [Advice(to, WithdrawFrame(id=s.id)) for to in s.to]
                    taken_back = WithdrawnData(id=s.id, mode=s.mode)
                    out.append(Record(Withdrawn(role=s.at_fault, data=taken_back)))
                case Switch() as switch:
                    for to in Role:
                        notice = ModeChanged(
                            mode=switch.mode, by=switch.by, reason=self._words.switched(switch, to)
                        )
                        out.append(Advice(to, notice))
                    switched = ModeData(
                        mode=switch.mode,
                        previous=switch.previous,
                        cause=switch.cause.value,
                        by=switch.by.value if switch.by else "policy",
                    )
                    out.append(Record(ModeSwitched(role=switch.at_fault or switch.by, data=switched)))
        return out
