"""Following the server's fallback frames: the timeline, the answer to ``suggest``, the mode."""

from __future__ import annotations

import pytest

from media.call_mode import FallbackFrame, ModeFollower, SuggestAnswer, local_media
from media.report import FallbackEvent
from signaling.messages import Decide, LinkReport, ModeChanged, Quality, Role, Suggest, Withdraw
from signaling.stats import AudioLevel, CallMode, VideoLevel

SUGGEST = Suggest(
    id="s1",
    mode=CallMode.AUDIO_ONLY,
    reason="Your video is lagging. Switch to audio only?",
    at_fault=Role.HOST,
)
SWITCHED = ModeChanged(
    mode=CallMode.AUDIO_ONLY, by=None, reason="Your connection is weak, so the call switched to audio only."
)
BACK = ModeChanged(mode=CallMode.VIDEO, by=Role.GUEST, reason="Ben switched the call back to video.")
GOOD = LinkReport(audio=AudioLevel.EXCELLENT, video=VideoLevel.GOOD, mos=4.4, video_score=100)
POOR = LinkReport(
    audio=AudioLevel.GOOD, video=VideoLevel.POOR, video_score=30, problems=["video at 2 frames/s"]
)


@pytest.mark.parametrize(
    ("on_suggest", "reply", "answer"),
    [
        ("accept", Decide(id="s1", accept=True), "accept"),
        ("decline", Decide(id="s1", accept=False), "decline"),
        ("ignore", None, None),
    ],
)
def test_a_suggestion_is_answered_as_told_and_noted(
    on_suggest: SuggestAnswer, reply: Decide | None, answer: str | None
) -> None:
    follower = ModeFollower(on_suggest)
    follower.welcome(CallMode.VIDEO)
    assert follower.observe(SUGGEST, 3.5) == reply
    assert follower.events == [
        FallbackEvent(
            3.5, "suggest", mode="audio-only", reason=SUGGEST.reason, id="s1", at_fault="host", answer=answer
        )
    ]
    assert follower.mode is CallMode.VIDEO  # a suggestion alone changes nothing


def test_the_timeline_keeps_every_fallback_frame_in_order_and_only_the_latest_quality() -> None:
    follower = ModeFollower("accept")
    follower.welcome(CallMode.VIDEO)
    frames: list[tuple[FallbackFrame, float]] = [
        (Quality(you=GOOD, peer=GOOD), 1.0),
        (Quality(you=POOR, peer=GOOD), 2.0),
        (SUGGEST, 2.1),
        (Withdraw(id="s1"), 2.5),
        (SWITCHED, 4.0),
        (Quality(you=POOR, peer=GOOD), 4.5),
        (BACK, 9.0),
    ]
    modes = []
    for frame, t in frames:
        follower.observe(frame, t)
        modes.append(follower.mode)
    assert [(e.t, e.type, e.mode) for e in follower.events] == [
        (2.1, "suggest", "audio-only"),
        (2.5, "withdraw", None),
        (4.0, "mode", "audio-only"),
        (9.0, "mode", "video"),
    ]
    assert [e.by for e in follower.events if e.type == "mode"] == [None, "guest"]
    assert modes == [CallMode.VIDEO] * 4 + [CallMode.AUDIO_ONLY] * 2 + [CallMode.VIDEO]
    assert follower.quality is not None and follower.quality.t == 4.5
    assert follower.quality.you == {
        "audio": "good",
        "video": "poor",
        "mos": None,
        "videoScore": 30.0,
        "problems": ["video at 2 frames/s"],
    }


def test_a_mode_before_welcome_is_followed_and_welcome_sets_the_start() -> None:
    follower = ModeFollower()
    assert follower.mode is None
    follower.welcome(CallMode.AUDIO_ONLY)  # rejoining a call that is already audio-only
    assert follower.mode is CallMode.AUDIO_ONLY


@pytest.mark.parametrize(
    ("mode", "camera_on", "muted"),
    [(CallMode.VIDEO, True, False), (CallMode.AUDIO_ONLY, False, False), (CallMode.PHONE, False, True)],
)
def test_what_each_mode_asks_of_the_local_media(mode: CallMode, camera_on: bool, muted: bool) -> None:
    assert local_media(mode) == (camera_on, muted)


def test_an_unknown_answer_is_refused() -> None:
    with pytest.raises(
        ValueError, match=r"'on_suggest' must be in \['accept', 'decline', 'ignore'\] \(got 'yes'\)"
    ):
        ModeFollower("yes")  # type: ignore[arg-type]
