"""The fallback policy on scripted report sequences: what is suggested, to whom, and when."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from report_sequences import CLEAN, Link, Simulator, both, only, run

from media.fallback_policy import (
    Cause,
    FallbackPolicy,
    PolicyOutput,
    RoomPolicy,
    Suggest,
    Switch,
    UnknownSuggestion,
    Withdraw,
)
from media.link_quality import LinkQuality
from signaling.messages import Role
from signaling.stats import CallMode

HOST, GUEST = Role.HOST, Role.GUEST
WARM = (12.0, both(CLEAN))  # past the 10 s video warm-up


@dataclass
class Trace:
    outputs: list[tuple[float, PolicyOutput]]

    def kinds(self) -> list[tuple[str, str, str]]:
        """(output, mode, cause) in order, for whole-list assertions."""
        out = []
        for _, o in self.outputs:
            match o:
                case Suggest(s):
                    out.append(("suggest", s.mode.value, s.cause.value))
                case Withdraw(s):
                    out.append(("withdraw", s.mode.value, s.cause.value))
                case Switch(mode=mode, cause=cause):
                    out.append(("switch", mode.value, cause.value))
        return out

    def first(self, kind: type, mode: CallMode) -> tuple[float, PolicyOutput]:
        for at, o in self.outputs:
            if isinstance(o, kind) and (getattr(o, "mode", None) or o.suggestion.mode) is mode:  # type: ignore[attr-defined]
                return at, o
        raise AssertionError(f"no {kind.__name__} {mode}: {self.kinds()}")


Decider = Callable[[Suggest], bool | None]


def drive(
    phases: list[tuple[float, dict[Role, Link]]],
    *,
    policy: RoomPolicy = RoomPolicy.PROMPT,
    decide: Decider | None = None,
) -> Trace:
    """Feed a scenario through scoring and policy; people answer with ``decide`` (None: no answer)."""
    sim = Simulator()
    quality, fallback = LinkQuality(interval_s=sim.interval_s), FallbackPolicy(policy=policy)
    trace: list[tuple[float, PolicyOutput]] = []

    def apply(outputs: list[PolicyOutput], at: float) -> None:
        for output in outputs:
            trace.append((at, output))
            if isinstance(output, Switch):
                video = output.mode is CallMode.VIDEO
                sim.sending_video = {HOST: video, GUEST: video}
            if isinstance(output, Suggest) and decide is not None:
                answer = decide(output)
                if answer is not None:
                    apply(fallback.decide(output.suggestion.to[0], output.suggestion.id, answer, at), at)

    for at, reports in run(phases, sim):
        for role, stats in reports.items():
            quality.add_report(role, stats, at)
        apply(fallback.evaluate(quality.snapshot(at), at), at)
    return Trace(trace)


def test_clean_link_for_ten_minutes_suggests_nothing() -> None:
    assert drive([(600, both(CLEAN))]).outputs == []


@pytest.mark.parametrize(
    ("name", "link"),
    [
        ("5% loss", Link(loss=0.05)),
        ("400 ms RTT", Link(rtt_s=0.4, jitter_s=0.01)),
        ("2% loss and 200 ms", Link(loss=0.02, rtt_s=0.2)),
        ("fair frame rate", Link(fps=15)),
    ],
)
def test_moderate_impairments_leave_watchable_video_alone(name: str, link: Link) -> None:
    assert drive([WARM, (300, both(link))]).outputs == [], name


@pytest.mark.parametrize(
    ("name", "link", "within_s"),
    [
        ("20% loss on Ana's uplink", Link(loss=0.20), 10),
        ("15% loss", Link(loss=0.15), 10),
        ("frozen video", Link(frozen=0.6, fps=10), 10),
        ("uplink starved below 150 kbit/s", Link(uplink_bps=100_000, bandwidth_limited=True), 10),
    ],
)
def test_severe_video_trouble_suggests_audio_only_to_the_sender(
    name: str, link: Link, within_s: float
) -> None:
    trace = drive([WARM, (60, only(HOST, link))])
    at, output = trace.first(Suggest, CallMode.AUDIO_ONLY)
    assert isinstance(output, Suggest)
    assert output.suggestion.to == (HOST,) and output.suggestion.at_fault is HOST
    assert output.suggestion.cause is Cause.VIDEO_POOR
    assert at - WARM[0] <= within_s, name


def test_accepting_switches_and_recovery_offers_video_back() -> None:
    trace = drive(
        [WARM, (20, only(GUEST, Link(loss=0.15))), (60, both(CLEAN))],
        decide=lambda s: True,
    )
    assert trace.kinds() == [
        ("suggest", "audio-only", "video-poor"),
        ("switch", "audio-only", "video-poor"),
        ("suggest", "video", "recovered"),
        ("switch", "video", "recovered"),
    ]
    back_at, _ = trace.first(Suggest, CallMode.VIDEO)
    clean_at = WARM[0] + 20
    assert 20 <= back_at - clean_at <= 35  # not before a sustained good period; within the 35 s target


@pytest.mark.parametrize(
    ("name", "link"),
    [("30% loss", Link(loss=0.30)), ("total outage", Link(outage=True))],
)
def test_unusable_audio_suggests_the_phone_to_both(name: str, link: Link) -> None:
    trace = drive([WARM, (40, both(link))])
    at, output = trace.first(Suggest, CallMode.PHONE)
    assert isinstance(output, Suggest) and set(output.suggestion.to) == {HOST, GUEST}
    assert at - WARM[0] <= 15, name


def test_reports_that_stop_suggest_the_phone_to_the_other_person() -> None:
    sim_quality, policy = LinkQuality(interval_s=2), FallbackPolicy()
    outputs: list[PolicyOutput] = []
    for at, reports in run([WARM, (40, both(CLEAN))]):
        sim_quality.add_report(HOST, reports[HOST], at)
        if at <= WARM[0]:  # Ben's reports stop after the warm-up
            sim_quality.add_report(GUEST, reports[GUEST], at)
        outputs += policy.evaluate(sim_quality.snapshot(at), at)
    [suggest] = [o for o in outputs if isinstance(o, Suggest)]
    assert suggest.suggestion.mode is CallMode.PHONE and suggest.suggestion.to == (HOST,)
    assert suggest.suggestion.cause is Cause.REPORTS_STOPPED and suggest.suggestion.at_fault is GUEST
    assert 15 <= suggest.suggestion.at - WARM[0] <= 18


def test_declined_suggestion_waits_out_the_cool_down() -> None:
    trace = drive([WARM, (400, only(HOST, Link(loss=0.12)))], decide=lambda s: False)
    suggestions = [at for at, o in trace.outputs if isinstance(o, Suggest)]
    assert len(suggestions) == 3  # at onset, then after each 180 s cool-down
    assert suggestions[1] - suggestions[0] >= 180 and suggestions[2] - suggestions[1] >= 180


def test_declined_but_much_worse_is_asked_again() -> None:
    trace = drive(
        [WARM, (20, only(HOST, Link(loss=0.062))), (20, only(HOST, Link(loss=0.10)))],
        decide=lambda s: False,
    )
    assert [k for k in trace.kinds() if k[0] == "suggest"] == [("suggest", "audio-only", "video-poor")] * 2


def test_unanswered_suggestion_is_withdrawn_when_the_link_heals() -> None:
    trace = drive([WARM, (12, only(HOST, Link(loss=0.12))), (30, both(CLEAN))])
    assert trace.kinds() == [
        ("suggest", "audio-only", "video-poor"),
        ("withdraw", "audio-only", "video-poor"),
    ]


def test_flapping_link_does_not_nag() -> None:
    flapping = [(4, only(HOST, Link(loss=0.25))), (4, both(CLEAN))] * 30
    trace = drive([WARM, *flapping], decide=lambda s: False)
    assert len([o for _, o in trace.outputs if isinstance(o, Suggest)]) <= 2  # at most once per cool-down


def test_auto_policy_switches_and_tells() -> None:
    trace = drive([WARM, (20, only(HOST, Link(loss=0.12))), (60, both(CLEAN))], policy=RoomPolicy.AUTO)
    assert trace.kinds() == [("switch", "audio-only", "video-poor"), ("switch", "video", "recovered")]
    _, switch = trace.first(Switch, CallMode.AUDIO_ONLY)
    assert isinstance(switch, Switch) and switch.by is None and switch.at_fault is HOST


def test_off_policy_never_suggests() -> None:
    assert drive([WARM, (60, both(Link(loss=0.4)))], policy=RoomPolicy.OFF).outputs == []


def test_escalation_from_audio_only_to_phone() -> None:
    trace = drive([WARM, (60, both(Link(loss=0.35)))], decide=lambda s: True)
    assert [k for k in trace.kinds() if k[0] == "switch"][-1] == ("switch", "phone", "audio-bad")


def test_decisions_must_match_a_pending_suggestion() -> None:
    policy = FallbackPolicy()
    with pytest.raises(UnknownSuggestion, match="expected a pending suggestion for host, got 'nope'"):
        policy.decide(HOST, "nope", True, 0)


def test_manual_switch() -> None:
    policy = FallbackPolicy()
    [switch] = policy.set_mode(GUEST, CallMode.AUDIO_ONLY, 5.0)
    assert isinstance(switch, Switch) and (switch.mode, switch.by, switch.cause) == (
        CallMode.AUDIO_ONLY,
        GUEST,
        Cause.PERSON,
    )
    assert policy.set_mode(GUEST, CallMode.AUDIO_ONLY, 6.0) == []


def test_outage_goes_straight_to_the_phone() -> None:
    # Video stops with everything else; audio-only would not help, so it is not offered.
    trace = drive([WARM, (40, both(Link(outage=True)))])
    assert trace.kinds() == [("suggest", "phone", "connection-down")]


def test_poor_video_is_counted_from_the_start_of_its_first_window() -> None:
    trace = drive([WARM, (30, only(HOST, Link(loss=0.15)))])
    at, _ = trace.first(Suggest, CallMode.AUDIO_ONLY)
    assert at - WARM[0] == 6.0  # seen in the report at +2 s, covering +0..2 s; held 6 s from +0


def test_a_cause_audio_only_cannot_see_does_not_ping_pong() -> None:
    # Ana's camera delivers 2 frames/s whatever the network does: audio-only looks healthy, video
    # comes back, and is poor again. Each relapse doubles the wait before video is offered back.
    trace = drive([WARM, (600, only(HOST, Link(fps=2)))], decide=lambda s: True)
    backs = [at for at, o in trace.outputs if isinstance(o, Suggest) and o.suggestion.mode is CallMode.VIDEO]
    waits = [b - a for a, b in itertools.pairwise(backs)]
    assert 3 <= len(backs) <= 6, backs
    assert waits == sorted(waits) and waits[-1] > 2 * waits[0]
