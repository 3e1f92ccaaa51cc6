"""Fallback end to end: two real headless participants on a real server, with real aiortc media.

Nothing is faked: the stats are the participants' own getStats readings, and the poor link of the
last test is a camera that really sends 2 frames a second. Only the server's timings are scaled
down by settings. Time passes in report intervals: each participant gets one ``quality`` frame per
``stats`` report it sends, so waiting for quality frames is waiting for intervals, without sleeps.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import pytest
from conftest import RunningServer

from media.participant import HeadlessParticipant
from media.sources import SyntheticSource, TrackSource
from signaling.messages import Quality
from signaling.stats import CallMode

FAST = {
    "stats_interval_s": 0.5,
    "quality_warmup_s": 1.0,
    "fallback_video_poor_s": 1.5,
    "fallback_recovery_s": 3,
}
pytestmark = pytest.mark.parametrize("server_settings", [FAST])

SMALL = SyntheticSource(width=320, height=240)
"""Small frames keep the four VP8 codecs cheap on the shared 2-core machine."""
WAIT_S = 15.0


@contextlib.asynccontextmanager
async def call(
    server: RunningServer, *, host_source: TrackSource = SMALL, **host_options: Any
) -> AsyncIterator[tuple[HeadlessParticipant, HeadlessParticipant]]:
    """Ana (host) and Ben (guest), connected."""
    room = await server.create_room()
    async with HeadlessParticipant(room["join_urls"]["host"], source=host_source, **host_options) as host:
        await host.wait_joined(WAIT_S)
        async with HeadlessParticipant(room["join_urls"]["guest"], source=SMALL) as guest:
            await asyncio.gather(host.wait_connected(WAIT_S), guest.wait_connected(WAIT_S))
            yield host, guest


async def intervals(count: int, *people: HeadlessParticipant) -> None:
    """Let ``count`` report intervals pass for everyone (one ``quality`` frame each per interval)."""
    for _ in range(count):
        await asyncio.gather(*(p.wait_frame("quality", WAIT_S) for p in people))


def sent_bytes(person: HeadlessParticipant) -> tuple[int, int]:
    """(audio, video) bytes sent, from the participant's latest stats report."""
    stats = person.last_stats
    assert stats is not None and stats.outbound.audio is not None and stats.outbound.video is not None
    audio, video = stats.outbound.audio.bytes_sent, stats.outbound.video.bytes_sent
    assert audio is not None and video is not None
    return audio, video


def good(frame: Any) -> bool:
    assert isinstance(frame, Quality)
    links = (frame.you, frame.peer)
    return all(link.video == "good" and link.audio in ("excellent", "good") for link in links)


async def test_a_clean_link_reports_good_quality_and_suggests_nothing(server: RunningServer) -> None:
    async with call(server) as (host, guest):
        await asyncio.gather(*(p.wait_frame("quality", WAIT_S, where=good) for p in (host, guest)))
        await intervals(20, host, guest)  # 10 s of reports on a clean loopback link

        for person in (host, guest):
            stats = person.last_stats
            assert stats is not None
            audio, video = stats.inbound.audio, stats.inbound.video
            assert audio is not None and video is not None
            assert audio.packets_received and audio.packets_lost == 0 and audio.bytes_received
            assert audio.total_samples_received and audio.total_samples_received >= 48_000  # > 1 s of audio
            assert video.packets_received and video.bytes_received and video.frames_decoded
            assert video.frames_per_second is not None and video.frames_per_second > 15
            assert video.freeze_count is not None and video.total_freezes_duration is not None
            assert audio.jitter is not None and video.jitter is not None
            assert audio.jitter < 0.05 and video.jitter < 0.05  # seconds, not RTP clock units
            sent = stats.outbound.video
            assert sent is not None and sent.frames_sent and sent.bytes_sent
            remote = stats.remote_inbound.audio
            assert remote is not None and remote.round_trip_time is not None and remote.round_trip_time < 0.1
            assert remote.fraction_lost == 0
            assert (stats.connection_state, stats.sending_video) == ("connected", True)
            assert stats.ice_state in ("connected", "completed")

            report = person.report()
            assert report.stats_sent >= 20 and report.mode == "video"
            assert report.fallback_events == ()  # no suggestion, no switch
            assert report.quality is not None and report.quality.peer["video"] == "good"


async def test_audio_only_by_hand_stops_video_both_ways_and_video_comes_back(server: RunningServer) -> None:
    async with call(server) as (host, guest):
        both = (host, guest)
        await asyncio.gather(*(p.wait_frames("video", 10, WAIT_S) for p in both))

        await host.set_mode(CallMode.AUDIO_ONLY)
        await asyncio.gather(*(p.wait_mode(CallMode.AUDIO_ONLY, WAIT_S) for p in both))
        mine, theirs = [await p.wait_event("mode", WAIT_S) for p in both]
        assert (mine.by, mine.reason) == ("host", "You switched the call to audio only.")
        assert (theirs.by, theirs.reason) == ("host", "Ana switched the call to audio only.")
        assert not host.sending_video and not guest.sending_video

        await intervals(2, *both)  # frames already on their way arrive
        video = [p.report().video_frames_received for p in both]
        audio = [p.report().audio_frames_received for p in both]
        sent = [sent_bytes(p) for p in both]
        await intervals(4, *both)  # 2 s
        assert [p.report().video_frames_received for p in both] == video
        assert all(p.report().audio_frames_received > a + 40 for p, a in zip(both, audio, strict=True))
        for person, (audio_sent, video_sent) in zip(both, sent, strict=True):
            now_audio, now_video = sent_bytes(person)
            assert now_video == video_sent and now_audio > audio_sent  # no video RTP leaves, audio does
        for person in both:
            stats, quality = person.last_stats, person.report().quality
            assert stats is not None and stats.sending_video is False
            assert quality is not None and (quality.you["video"], quality.peer["video"]) == ("off", "off")
            assert person.connection_state == "connected"  # the call never dropped

        await guest.set_mode(CallMode.VIDEO)
        await asyncio.gather(*(p.wait_mode(CallMode.VIDEO, WAIT_S) for p in both))
        await asyncio.gather(
            *(p.wait_frames("video", v + 15, WAIT_S) for p, v in zip(both, video, strict=True))
        )
        assert host.sending_video and guest.sending_video
        for person in both:
            report = person.report()
            assert [(e.type, e.mode) for e in report.fallback_events if e.type == "mode"] == [
                ("mode", "audio-only"),
                ("mode", "video"),
            ]
            assert report.peer_connections == 1 and report.problems == ()


async def test_a_camera_at_2_fps_gets_its_sender_asked_and_the_call_goes_audio_only(
    server: RunningServer,
) -> None:
    slow_camera = SyntheticSource(width=320, height=240, fps=2)
    async with call(server, host_source=slow_camera, on_suggest="accept") as (host, guest):
        connected = host.report().time_to_connected_s
        suggestion = await host.wait_event("suggest", WAIT_S)
        assert (suggestion.mode, suggestion.at_fault, suggestion.answer) == ("audio-only", "host", "accept")
        assert suggestion.reason == "Your video is lagging. Switch to audio only?"
        assert connected is not None and suggestion.t - connected < 10  # warm-up 1 s + poor for 1.5 s

        await asyncio.gather(*(p.wait_mode(CallMode.AUDIO_ONLY, WAIT_S) for p in (host, guest)))
        mine, theirs = [await p.wait_event("mode", WAIT_S) for p in (host, guest)]
        assert mine.reason == "Your connection is weak, so the call switched to audio only."
        assert theirs.reason == "Ana's connection is weak, so the call switched to audio only."
        assert [e.type for e in guest.report().fallback_events] == ["mode"]  # only the one at fault is asked
        assert not host.sending_video and not guest.sending_video
        assert host.report().problems == () and guest.report().problems == ()
