"""The sent tracks: a camera that turns off and on again without renegotiation, a microphone that mutes."""

from __future__ import annotations

import asyncio
import fractions

import numpy as np
import pytest
from aiortc.mediastreams import VIDEO_TIME_BASE, MediaStreamError, MediaStreamTrack
from av import AudioFrame, VideoFrame

from media.local_tracks import CameraTrack, MicrophoneTrack
from media.synthetic import SyntheticAudioTrack


class FakeCamera(MediaStreamTrack):
    """A camera whose frames come at once (or when ``gate`` opens), ``step`` 90 kHz ticks apart."""

    kind = "video"

    def __init__(self, *, first_pts: int = 0, step: int = 3000, gate: asyncio.Event | None = None) -> None:
        super().__init__()
        self.pts, self.step, self.gate = first_pts, step, gate
        self.cancelled_reads = 0

    async def recv(self) -> VideoFrame:
        if self.readyState != "live":
            raise MediaStreamError
        if self.gate is not None:
            try:
                await self.gate.wait()
            except asyncio.CancelledError:
                self.cancelled_reads += 1
                raise
        frame = VideoFrame(width=16, height=16, format="yuv420p")
        frame.pts, frame.time_base = self.pts, VIDEO_TIME_BASE
        self.pts += self.step
        return frame


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


async def settle() -> None:
    """Let every ready task run a few steps (yields, not timed sleeps)."""
    for _ in range(10):
        await asyncio.sleep(0)


async def pts_of(track: CameraTrack, count: int) -> list[int | None]:
    return [(await track.recv()).pts for _ in range(count)]


async def test_frames_pass_on_one_timeline_from_zero_and_are_counted() -> None:
    track = CameraTrack(FakeCamera(first_pts=900_000), clock=Clock())
    assert await pts_of(track, 3) == [0, 3000, 6000]
    assert track.frames_sent == 3 and track.camera_on
    track.stop()


async def test_the_camera_off_sends_nothing_and_a_fresh_camera_continues_the_timeline() -> None:
    clock, first = Clock(), FakeCamera()
    track = CameraTrack(first, clock=clock)
    assert await pts_of(track, 2) == [0, 3000]

    track.switch_off()
    assert first.readyState == "ended" and not track.camera_on  # the camera light goes off
    waiting = asyncio.ensure_future(track.recv())
    await settle()
    assert not waiting.done()  # the sender waits: no video RTP

    clock.now += 10.0  # ten seconds of audio only
    track.switch_on(FakeCamera(first_pts=0))  # a fresh camera starts its own clock at zero
    frame = await asyncio.wait_for(waiting, 5)
    assert frame.pts == 3000 + 900_000  # 10 s of 90 kHz after the last frame sent: never back
    assert await pts_of(track, 1) == [906_000]
    assert track.frames_sent == 4
    track.stop()


async def test_switching_off_ends_a_read_in_progress() -> None:
    slow = FakeCamera(gate=asyncio.Event())
    track = CameraTrack(slow, clock=Clock())
    waiting = asyncio.ensure_future(track.recv())
    await settle()
    track.switch_off()
    await settle()
    assert slow.cancelled_reads == 1 and not waiting.done()
    track.stop()
    with pytest.raises(MediaStreamError):
        await asyncio.wait_for(waiting, 5)  # stopping wakes the waiting sender, which ends


async def test_a_camera_whose_own_clock_goes_back_still_moves_forward() -> None:
    clock, looping = Clock(), FakeCamera(first_pts=60_000)
    track = CameraTrack(looping, clock=clock)
    assert await pts_of(track, 2) == [0, 3000]
    looping.pts = 0  # a looping file starts over
    clock.now += 1 / 30
    assert await pts_of(track, 2) == [6000, 9000]


async def test_a_cancelled_sender_leaves_no_camera_read_behind() -> None:
    slow = FakeCamera(gate=asyncio.Event())
    track = CameraTrack(slow, clock=Clock())
    waiting = asyncio.ensure_future(track.recv())
    await settle()
    waiting.cancel()  # the peer connection closes
    await settle()
    assert waiting.cancelled() and slow.cancelled_reads == 1
    track.stop()
    assert slow.readyState == "ended"


async def test_a_camera_that_starts_off_waits_for_its_first_camera() -> None:
    track = CameraTrack(None, clock=Clock())
    assert not track.camera_on
    waiting = asyncio.ensure_future(track.recv())
    await settle()
    assert not waiting.done()
    track.switch_on(FakeCamera())
    assert (await asyncio.wait_for(waiting, 5)).pts == 0
    track.stop()
    with pytest.raises(MediaStreamError, match="cannot be switched on"):
        track.switch_on(FakeCamera())


def test_tracks_of_the_wrong_kind_are_refused() -> None:
    with pytest.raises(ValueError, match="expected a 'video' track for the camera, got kind 'audio'"):
        CameraTrack(SyntheticAudioTrack())
    with pytest.raises(ValueError, match="expected an 'audio' track for the microphone, got kind 'video'"):
        MicrophoneTrack(FakeCamera())


async def test_a_muted_microphone_sends_silence_of_the_same_shape() -> None:
    microphone = MicrophoneTrack(SyntheticAudioTrack())
    loud = await microphone.recv()
    microphone.muted = True
    quiet = await microphone.recv()
    microphone.muted = False
    again = await microphone.recv()
    microphone.stop()

    assert isinstance(loud, AudioFrame) and isinstance(quiet, AudioFrame) and isinstance(again, AudioFrame)
    assert np.abs(loud.to_ndarray()).max() > 1000 and np.abs(again.to_ndarray()).max() > 1000
    assert not quiet.to_ndarray().any()
    assert (quiet.samples, quiet.sample_rate, quiet.format.name, quiet.layout.name) == (
        960,
        48_000,
        "s16",
        "mono",
    )
    assert (quiet.pts, quiet.time_base) == (960, fractions.Fraction(1, 48_000))  # the tone's own timing
    with pytest.raises(MediaStreamError):
        await microphone.recv()
