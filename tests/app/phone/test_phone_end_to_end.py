"""The phone fallback end to end, with the console provider: two real headless participants (aiortc
media, their own stats reports) on a real server; Ana's audio stops reaching Ben; duet suggests the
phone; both accept and ask duet to call them; both phone legs join the same conference; the events,
the ``phone`` frames and the session report show it."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiortc.mediastreams import MediaStreamTrack
from av.frame import Frame
from av.packet import Packet
from conftest import RunningServer
from wsclient import split_join_url

from media.participant import HeadlessParticipant
from media.sources import SyntheticSource
from signaling.messages import PhoneLeg, Role, Suggest
from signaling.stats import CallMode

BRIDGE, ANA_PHONE, BEN_PHONE = "+14155550100", "+14155550123", "+447700900123"
FAST = {"stats_interval_s": 0.5, "quality_warmup_s": 1.0, "fallback_audio_bad_s": 1.5}
pytestmark = pytest.mark.parametrize(
    "server_settings", [{**FAST, "phone_provider": "console", "phone_dial_in": BRIDGE}]
)
WAIT_S = 20.0
SMALL = SyntheticSource(width=320, height=240)
"""Small frames keep the VP8 codecs cheap on a 2-core machine."""


class _MutableAudio(MediaStreamTrack):
    """A microphone whose packets stop when ``cut`` is set, as when the uplink loses all audio."""

    kind = "audio"

    def __init__(self, track: MediaStreamTrack, cut: asyncio.Event) -> None:
        super().__init__()
        self._track, self._cut = track, cut

    async def recv(self) -> Frame | Packet[Any]:
        if self._cut.is_set():
            await asyncio.Event().wait()  # no more audio leaves; the sender is cancelled when it stops
        return await self._track.recv()

    def stop(self) -> None:
        super().stop()
        self._track.stop()


class CuttableMicrophone:
    """The synthetic source, with a microphone that can be cut."""

    def __init__(self) -> None:
        self.cut = asyncio.Event()

    def create_tracks(self) -> list[MediaStreamTrack]:
        audio, video = SMALL.create_tracks()
        return [_MutableAudio(audio, self.cut), video]

    def create_video_track(self) -> MediaStreamTrack:
        return SMALL.create_video_track()


def waiting(people: tuple[HeadlessParticipant, ...], type_: str, where: Any) -> list[asyncio.Task[Any]]:
    """Start waiting for the next ``type_`` frame of each person, before doing what brings it."""
    return [asyncio.create_task(p.wait_frame(type_, WAIT_S, where=where)) for p in people]


async def test_audio_fails_the_phone_is_suggested_and_call_me_joins_both_to_one_conference(
    server: RunningServer,
) -> None:
    room = await server.create_room(
        host={"name": "Ana", "phone": ANA_PHONE}, guest={"name": "Ben", "phone": BEN_PHONE}
    )
    microphone = CuttableMicrophone()
    host_url, guest_url = room["join_urls"]["host"], room["join_urls"]["guest"]
    async with HeadlessParticipant(host_url, source=microphone, on_suggest="accept") as ana:
        await ana.wait_joined(WAIT_S)
        async with HeadlessParticipant(guest_url, source=SMALL, on_suggest="accept") as ben:
            people = (ana, ben)
            await asyncio.gather(*(p.wait_connected(WAIT_S) for p in people))
            await asyncio.gather(*(p.wait_frames("audio", 25, timeout_s=WAIT_S) for p in people))

            # Ana's audio stops reaching Ben: duet suggests the phone to both, with the backup plan.
            prompts = waiting(people, "suggest", lambda f: f.mode == CallMode.PHONE)
            microphone.cut.set()
            ana_prompt, ben_prompt = await asyncio.gather(*prompts)
            assert isinstance(ana_prompt, Suggest) and isinstance(ben_prompt, Suggest)
            assert ben_prompt.reason == "Ana's connection is too weak for a call. Continue by phone?"
            assert ana_prompt.reason == "Your connection is too weak for a call. Continue by phone?"
            assert ben_prompt.backup is not None and ben_prompt.backup.pin == room["dial_in"]["pin"]
            await asyncio.gather(*(p.wait_mode(CallMode.PHONE, WAIT_S) for p in people))

            # Both tap "Call me": duet rings both phones (the numbers given at room creation).
            both_on_phone = waiting(people, "phone", lambda f: f.on_phone == [Role.HOST, Role.GUEST])
            async with server.client() as api:
                for role in ("host", "guest"):
                    token = split_join_url(room["join_urls"][role])[1]
                    accepted = await api.post(f"/s/{room['id']}/call-me", json={"token": token})
                    assert accepted.status_code == 202, accepted.text
            frames = await asyncio.gather(*both_on_phone)
            for frame in frames:
                assert isinstance(frame, PhoneLeg) and frame.state == "joined"

            async with server.client() as api:
                calls = (await api.get("/phone/console/calls")).json()
                assert [(c["to"], c["state"]) for c in calls] == [
                    ("+*********23", "in-conference"),
                    ("+**********23", "in-conference"),
                ]
                assert calls[0]["conference"] == calls[1]["conference"]  # one conference for the room
                assert room["id"] not in calls[0]["conference"]
                assert calls[1]["heard"][-1].startswith("Joining you to your session with Ana.")

                # The session ends: both phones are hung up too.
                assert (await api.post(f"/v1/rooms/{room['id']}/end")).status_code == 200
            await asyncio.gather(*(p.wait_signaling_closed(WAIT_S) for p in people))

    async with server.client() as api:
        assert [c["state"] for c in (await api.get("/phone/console/calls")).json()] == ["completed"] * 2
        events = (await api.get(f"/v1/rooms/{room['id']}/events")).json()["items"]
        report = (await api.get(f"/v1/rooms/{room['id']}/report")).json()
    fallback = {"suggested", "accepted", "mode", "ended"}
    story = [
        (e["type"], e["role"]) for e in events if e["type"] in fallback or e["type"].startswith("phone.")
    ]
    assert story[:3] == [("suggested", "host"), ("accepted", story[1][1]), ("mode", story[2][1])]
    # The two calls run side by side: each person's own events are in order, the two interleave.
    calls_story, after = story[3:7], story[7:]
    for role in ("host", "guest"):
        assert [t for t, r in calls_story if r == role] == ["phone.calling", "phone.joined"]
    assert after[0] == ("ended", None) and sorted(after[1:]) == [
        ("phone.left", "guest"),
        ("phone.left", "host"),
    ]
    timeline = [(e["type"], e["role"]) for e in report["timeline"]]
    assert timeline == [(t, r) for t, r in story if t != "ended"]
    assert report["time_in_mode_s"]["phone"] > 0
