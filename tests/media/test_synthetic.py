"""Synthetic tracks: frame shape, timestamps, pacing; track sources."""

from __future__ import annotations

import asyncio
import fractions
from pathlib import Path

import av
import numpy as np
import pytest
from aiortc.mediastreams import MediaStreamError

from media.sources import MediaFileSource, SyntheticSource
from media.synthetic import FramePacer, ScrollingBars, SyntheticAudioTrack, SyntheticVideoTrack


@pytest.mark.asyncio
async def test_video_frames_are_640x480_yuv420p_with_90khz_pts() -> None:
    track = SyntheticVideoTrack()
    frames = [await track.recv() for _ in range(4)]
    track.stop()
    assert [(f.width, f.height, f.format.name) for f in frames] == [(640, 480, "yuv420p")] * 4
    assert [f.pts for f in frames] == [0, 3000, 6000, 9000]
    assert {f.time_base for f in frames} == {fractions.Fraction(1, 90_000)}


@pytest.mark.asyncio
async def test_video_size_and_rate_are_configurable() -> None:
    track = SyntheticVideoTrack(ScrollingBars(320, 240), fps=15)
    first, second = await track.recv(), await track.recv()
    track.stop()
    assert (first.width, first.height) == (320, 240)
    assert (first.pts, second.pts) == (0, 6000)


@pytest.mark.asyncio
async def test_video_moves() -> None:
    track = SyntheticVideoTrack()
    first, second = (await track.recv()).to_ndarray(), (await track.recv()).to_ndarray()
    track.stop()
    assert first.shape == (720, 640)
    assert not np.array_equal(first, second)


@pytest.mark.asyncio
async def test_audio_frames_are_20ms_of_48khz_mono_s16() -> None:
    track = SyntheticAudioTrack()
    frames = [await track.recv() for _ in range(3)]
    track.stop()
    assert [(f.samples, f.sample_rate, f.format.name, f.layout.name) for f in frames] == [
        (960, 48_000, "s16", "mono")
    ] * 3
    assert [f.pts for f in frames] == [0, 960, 1920]
    assert {f.time_base for f in frames} == {fractions.Fraction(1, 48_000)}


@pytest.mark.asyncio
async def test_audio_is_a_continuous_tone() -> None:
    track = SyntheticAudioTrack(frequency_hz=1000, amplitude=0.5)
    samples = np.concatenate([(await track.recv()).to_ndarray()[0] for _ in range(2)])
    track.stop()
    expected = (0.5 * 32767 * np.sin(2 * np.pi * 1000 * np.arange(1920) / 48_000)).astype(np.int16)
    assert np.array_equal(samples, expected)


@pytest.mark.asyncio
@pytest.mark.parametrize("track", [SyntheticVideoTrack, SyntheticAudioTrack])
async def test_stopped_track_raises(track: type[SyntheticVideoTrack] | type[SyntheticAudioTrack]) -> None:
    stopped = track()
    stopped.stop()
    with pytest.raises(MediaStreamError):
        await stopped.recv()


@pytest.mark.asyncio
async def test_pacer_skips_ahead_after_a_stall_instead_of_bursting() -> None:
    now = [100.0]
    pacer = FramePacer(0.02, max_lag_s=0.1, clock=lambda: now[0])
    assert await pacer.next_index() == 0
    now[0] += 0.02
    assert await pacer.next_index() == 1
    now[0] += 1.0  # stalled for a second
    assert await pacer.next_index() == 51
    now[0] += 0.02
    assert await pacer.next_index() == 52


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"width": 641, "height": 480}, "frame size must be even and at least 16x16 (got 641x480)"),
        ({"width": 8, "height": 8}, "(got 8x8)"),
        ({"step": 3}, "'step' must be even"),
    ],
)
def test_scrolling_bars_refuses_bad_sizes(kwargs: dict[str, int], message: str) -> None:
    with pytest.raises(ValueError) as raised:
        ScrollingBars(**kwargs)
    assert message in str(raised.value)


def test_audio_refuses_a_frame_that_is_not_whole_samples() -> None:
    with pytest.raises(ValueError, match="not a whole number of samples"):
        SyntheticAudioTrack(sample_rate=44_100, frame_ms=15)


def test_synthetic_source_makes_fresh_audio_and_video_tracks() -> None:
    source = SyntheticSource(width=320, height=240)
    first, second = source.create_tracks(), source.create_tracks()
    assert [t.kind for t in first] == ["audio", "video"]
    assert {id(t) for t in first}.isdisjoint(id(t) for t in second)
    for track in first + second:
        track.stop()


def test_media_file_source_refuses_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="does not exist"):
        MediaFileSource(tmp_path / "missing.webm")


@pytest.mark.asyncio
async def test_media_file_source_plays_the_file(tmp_path: Path) -> None:
    path = tmp_path / "tone.wav"
    with av.open(str(path), "w") as container:
        stream = container.add_stream("pcm_s16le", rate=48_000, layout="mono")
        tone = SyntheticAudioTrack()
        for _ in range(5):
            for packet in stream.encode(await tone.recv()):
                container.mux(packet)
        tone.stop()
    (track,) = MediaFileSource(path, loop=False).create_tracks()
    try:
        frame = await asyncio.wait_for(track.recv(), 10)
    finally:
        track.stop()
    assert track.kind == "audio"
    assert isinstance(frame, av.AudioFrame) and frame.sample_rate == 48_000


def test_synthetic_source_restarts_the_camera_alone() -> None:
    source = SyntheticSource(width=320, height=240, fps=2)
    camera = source.create_video_track()
    assert camera.kind == "video" and isinstance(camera, SyntheticVideoTrack)
    camera.stop()


@pytest.mark.asyncio
async def test_media_file_source_restarts_the_video_alone_and_drains_the_audio(tmp_path: Path) -> None:
    path = tmp_path / "call.mkv"
    with av.open(str(path), "w") as container:
        video = container.add_stream("libvpx", rate=30)
        video.width, video.height, video.pix_fmt = 64, 48, "yuv420p"
        audio = container.add_stream("pcm_s16le", rate=48_000, layout="mono")
        tone, bars = SyntheticAudioTrack(), ScrollingBars(64, 48)
        for index in range(10):
            frame = av.VideoFrame.from_ndarray(bars.render(index, bars.new_buffer()), format="yuv420p")
            frame.pts, frame.time_base = index, fractions.Fraction(1, 30)
            for packet in [*video.encode(frame), *audio.encode(await tone.recv())]:
                container.mux(packet)
        for packet in video.encode(None):
            container.mux(packet)
        tone.stop()
    before = asyncio.all_tasks()
    camera = MediaFileSource(path, loop=False).create_video_track()
    assert camera is not None and camera.kind == "video"
    try:
        frame = await asyncio.wait_for(camera.recv(), 10)
    finally:
        camera.stop()
    assert isinstance(frame, av.VideoFrame) and (frame.width, frame.height) == (64, 48)
    for _ in range(5):
        await asyncio.sleep(0)  # yields, not timed sleeps: the audio drain ends
    assert not [t for t in asyncio.all_tasks() - before if t.get_name() == "duet-file-audio-drain"]


@pytest.mark.asyncio
async def test_media_file_source_without_video_has_no_camera(tmp_path: Path) -> None:
    path = tmp_path / "tone.wav"
    with av.open(str(path), "w") as container:
        stream = container.add_stream("pcm_s16le", rate=48_000, layout="mono")
        tone = SyntheticAudioTrack()
        for packet in stream.encode(await tone.recv()):
            container.mux(packet)
        tone.stop()
    assert MediaFileSource(path).create_video_track() is None
