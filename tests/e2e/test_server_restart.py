"""The signaling server is SIGKILLed and restarted mid-call: media between two headless
participants never stops, both are back on signaling within seconds, the room survives."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Any

from duet_process import DuetProcess, FrameWatch

from media.participant import HeadlessParticipant, ParticipantPhase
from signaling.messages import CallMode, Welcome


@contextlib.asynccontextmanager
async def call_on(
    data_dir: Path, settings: Mapping[str, str] = {}
) -> AsyncIterator[tuple[DuetProcess, dict[str, Any], HeadlessParticipant, HeadlessParticipant]]:
    """``duet serve`` (a child process, so it can be killed) with a room whose two headless
    participants are connected; everything is closed afterwards."""
    server = DuetProcess(data_dir, settings=settings)
    await server.create_api_key()
    await server.start()
    people: list[HeadlessParticipant] = []
    try:
        room = await server.create_room()
        people = [HeadlessParticipant(room["join_urls"][role]) for role in ("host", "guest")]
        host, guest = people
        await host.start()
        await host.wait_joined(5)
        await guest.start()
        await asyncio.gather(host.wait_connected(15), guest.wait_connected(15))
        yield server, room, host, guest
    finally:
        for person in people:
            await person.close()
        await server.stop()


async def test_server_sigkill_and_restart_keeps_media_and_the_room(tmp_path: Path) -> None:
    async with call_on(tmp_path / "data", {"DUET_RECONNECT_GRACE_S": "20"}) as (server, room, host, guest):
        await asyncio.gather(host.wait_frames("video", 30, 20), guest.wait_frames("video", 30, 20))
        async with server.api() as api:
            before = (await api.get(f"/v1/rooms/{room['id']}")).json()
        assert before["state"] == "live"

        watch = FrameWatch(host, guest)
        sampler = asyncio.create_task(watch.run())
        welcomes = [asyncio.create_task(p.wait_frame("welcome", 30)) for p in (host, guest)]
        await asyncio.sleep(1.0)  # a second of the call before the crash (a schedule)
        killed_at = time.monotonic()
        await server.kill()
        await asyncio.sleep(1.0)  # the server stays down for a while (a schedule)
        await server.start()
        assert server.listening_at is not None
        await asyncio.gather(*welcomes)
        back_at = time.monotonic()
        await asyncio.sleep(1.0)  # and a second of the call after (a schedule)
        sampler.cancel()

        assert back_at - server.listening_at < 5.0
        assert watch.longest_stall_s(killed_at, time.monotonic()) < 0.5  # media never stopped
        for person in (host, guest):
            report = person.report()
            assert person.phase is ParticipantPhase.JOINED
            assert report.signaling_reconnects == 1 and report.signaling_back_after_s[0] < 10
            assert report.peer_connections == 1  # kept, never renegotiated
            assert "peer-left" not in report.signaling_frames
            assert report.signaling_frames.get("peer-joined", 0) <= 1  # only the first pairing
        assert host.welcome is not None and guest.welcome is not None
        assert host.welcome.resumed and guest.welcome.resumed
        # Whoever came back second was "back" for the other.
        backs = host.report().signaling_frames.get("peer-back", 0) + guest.report().signaling_frames.get(
            "peer-back", 0
        )
        assert backs == 1
        async with server.api() as api:
            after = (await api.get(f"/v1/rooms/{room['id']}")).json()
        assert (after["id"], after["state"], after["title"]) == (before["id"], "live", before["title"])
        frames = guest.report().video_frames_received
        await guest.wait_frames("video", frames + 15, 10)
        await asyncio.gather(host.hang_up(), guest.hang_up())


async def test_an_audio_only_call_stays_audio_only_across_a_restart(tmp_path: Path) -> None:
    async with call_on(tmp_path / "data") as (server, room, host, guest):
        await host.set_mode(CallMode.AUDIO_ONLY)
        await asyncio.gather(host.wait_mode(CallMode.AUDIO_ONLY, 5), guest.wait_mode(CallMode.AUDIO_ONLY, 5))
        async with server.api() as api:  # reading the events flushes the batched writer: the mode is stored
            stored = (await api.get(f"/v1/rooms/{room['id']}/events")).json()["items"]
        assert [e["data"]["mode"] for e in stored if e["type"] == "mode"] == ["audio-only"]
        welcomes = [asyncio.create_task(p.wait_frame("welcome", 30)) for p in (host, guest)]
        await server.kill()
        await server.start()
        for welcome in await asyncio.gather(*welcomes):
            assert isinstance(welcome, Welcome) and welcome.resumed and welcome.mode is CallMode.AUDIO_ONLY
        assert host.mode is guest.mode is CallMode.AUDIO_ONLY and not host.sending_video
        audio = guest.report().audio_frames_received
        await guest.wait_frames("audio", audio + 50, 10)
