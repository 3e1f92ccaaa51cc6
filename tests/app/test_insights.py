"""``GET /v1/insights``: a program's sessions summed up, from real sessions."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from conftest import RunningServer
from wsclient import WsClient, joined, split_join_url


@pytest.fixture
def server_settings() -> dict[str, Any]:
    return {"attendance_check_s": 0.2}


async def join(server: RunningServer, url: str) -> WsClient:
    """A protocol client in the room of join link ``url``, welcomed."""
    client, _ = await joined(server.ws_url(split_join_url(url)[0]), url)
    return client


async def rate(server: RunningServer, link: str, rating: int, chips: list[str]) -> None:
    room_id, token = split_join_url(link)
    async with server.client() as api:
        answer = await api.post(
            f"/s/{room_id}/feedback", json={"token": token, "rating": rating, "chips": chips}
        )
    assert answer.status_code == 202, answer.text


async def test_held_cancelled_no_show_ratings_and_chips(server: RunningServer) -> None:
    now = datetime.now(UTC)
    held = await server.create_room()
    alone = await server.create_room(no_show_grace_minutes=0.01)
    later = await server.create_room(starts_at=(now + timedelta(days=1)).isoformat())
    host, guest = (
        await join(server, held["join_urls"]["host"]),
        await join(server, held["join_urls"]["guest"]),
    )
    lonely = await join(server, alone["join_urls"]["host"])
    await rate(server, held["join_urls"]["host"], 4, ["echo"])
    await rate(server, held["join_urls"]["guest"], 2, ["video_froze", "echo"])
    async with server.client() as api:
        await api.post(f"/v1/rooms/{held['id']}/end")
        await api.post(f"/v1/rooms/{later['id']}/end", json={"reason": "mentor ill"})
        window = {"from": (now - timedelta(hours=1)).isoformat(), "to": (now + timedelta(days=2)).isoformat()}
        async with asyncio.timeout(10):
            while True:  # the no-show verdict comes from the attendance timers
                summary = (await api.get("/v1/insights", params=window)).json()
                if summary["no_shows"]["guest"]:
                    break
                await asyncio.sleep(0.2)
        narrow = (
            await api.get("/v1/insights", params={**window, "from": (now + timedelta(hours=1)).isoformat()})
        ).json()
        backwards = await api.get("/v1/insights", params={"from": window["to"], "to": window["from"]})
    for client in (host, guest, lonely):
        await client.ws.close()
    assert (summary["sessions"], summary["held"], summary["cancelled"]) == (3, 1, 1)
    assert summary["no_shows"] == {"host": 0, "guest": 1, "both": 0}
    assert summary["ratings"] == {"count": 2, "mean": 3.0, "host_mean": 4.0, "guest_mean": 2.0}
    assert summary["top_chips"][0] == {"chip": "echo", "count": 2}
    assert summary["together_s"] >= 0 and summary["audio_only_share"] in (0.0, None)
    assert narrow["sessions"] == 1  # only the one that starts tomorrow
    assert backwards.status_code == 422


async def test_another_keys_rooms_are_not_counted(server: RunningServer) -> None:
    await server.create_room()
    other = await server.make_api_key("other")
    async with server.client(other) as api:
        summary = (await api.get("/v1/insights")).json()
    assert summary["sessions"] == 0
