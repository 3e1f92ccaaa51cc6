"""End to end with real WebRTC: two headless participants on a real server, through their join links."""

from __future__ import annotations

import asyncio
import json

from conftest import RunningServer
from duet_process import run_duet
from wsclient import WsClient, split_join_url

from media.participant import HeadlessParticipant
from signaling.messages import CloseCode, ErrorCode, Join


async def test_two_headless_participants_see_and_hear_each_other(server: RunningServer) -> None:
    room = await server.create_room()
    async with HeadlessParticipant(room["join_urls"]["host"]) as host:  # entering starts it: socket, join
        await host.wait_joined(timeout_s=5)
        async with HeadlessParticipant(room["join_urls"]["guest"]) as guest:
            await asyncio.gather(host.wait_connected(timeout_s=15), guest.wait_connected(timeout_s=15))
            await asyncio.gather(
                host.wait_frames("video", 30, timeout_s=20),
                guest.wait_frames("video", 30, timeout_s=20),
                host.wait_frames("audio", 10, timeout_s=20),
                guest.wait_frames("audio", 10, timeout_s=20),
            )

            # A third party (a forged token, someone else's room's link) is refused and changes nothing.
            other = await server.create_room()
            intruder = await WsClient.open(server.ws_url(room["id"]))
            await intruder.send(Join(token=split_join_url(other["join_urls"]["guest"])[1]))
            assert (await intruder.recv_type("error")).code == ErrorCode.UNAUTHORIZED
            assert await intruder.closed_with() == CloseCode.UNAUTHORIZED
            frames_before = guest.report().video_frames_received
            await guest.wait_frames("video", frames_before + 15, timeout_s=10)  # the call goes on

            # Ending the room through the API disconnects both, with the reason.
            async with server.client() as api:
                ended = await api.post(f"/v1/rooms/{room['id']}/end")
                assert ended.status_code == 200
            await asyncio.gather(
                host.wait_signaling_closed(timeout_s=5), guest.wait_signaling_closed(timeout_s=5)
            )
            for person in (host, guest):
                report = person.report()
                assert report.close_code == CloseCode.ROOM_ENDED
                assert report.last_error is not None and report.last_error.code == ErrorCode.ROOM_ENDED

    host_report, guest_report = host.report(), guest.report()
    assert (host_report.role, guest_report.role) == ("host", "guest")
    assert host_report.video_frame_size == (640, 480)
    assert "connected" in host_report.connection_states and "connected" in guest_report.connection_states

    async with server.client() as api:
        events = (await api.get(f"/v1/rooms/{room['id']}/events")).json()["items"]
    assert [(e["type"], e["role"]) for e in events] == [
        ("scheduled", None),
        ("joined", "host"),
        ("joined", "guest"),
        ("ended", None),
    ]


async def test_duet_join_command_reports_what_it_received(server: RunningServer) -> None:
    room = await server.create_room()
    async with HeadlessParticipant(room["join_urls"]["host"]) as host:
        await host.wait_joined(timeout_s=5)
        out, err = await run_duet("join", room["join_urls"]["guest"], "--duration", "3", "--json")
    report = json.loads(out)
    assert report["role"] == "guest" and report["time_to_connected_s"] is not None
    assert report["video_frames_received"] >= 30 and report["audio_frames_received"] > 0
    assert room["join_urls"]["guest"].split("#t=")[1] not in out + err  # no secrets printed
