"""Feedback after the call: one rating a person a room, in the report, and to the webhooks."""

from __future__ import annotations

from conftest import RunningServer
from wsclient import split_join_url


async def rate(server: RunningServer, link: str, **body: object) -> tuple[int, dict[str, object]]:
    room_id, token = split_join_url(link)
    async with server.client() as api:
        response = await api.post(f"/s/{room_id}/feedback", json={"token": token, **body})
    return response.status_code, response.json()


async def report(server: RunningServer, room_id: str) -> dict[str, object]:
    async with server.client() as api:
        body: dict[str, object] = (await api.get(f"/v1/rooms/{room_id}/report")).json()
    return body


async def test_a_second_rating_replaces_the_first_and_the_report_has_each_persons_latest(
    server: RunningServer,
) -> None:
    room = await server.create_room()
    host, guest = room["join_urls"]["host"], room["join_urls"]["guest"]
    assert await rate(server, guest, rating=2, chips=["video_froze", "echo", "video_froze"]) == (
        202,
        {"rating": 2, "replaced": False},
    )
    assert await rate(server, guest, rating=3, chips=["audio_choppy"], comment="  better later ") == (
        202,
        {"rating": 3, "replaced": True},
    )
    assert (await rate(server, host, rating=5, chips=["echo"]))[0] == 202
    feedback = (await report(server, room["id"]))["feedback"]
    assert [(f["role"], f["data"]) for f in feedback] == [  # type: ignore[index, union-attr]
        ("host", {"rating": 5, "chips": [], "comment": ""}),  # five stars: nothing went wrong
        ("guest", {"rating": 3, "chips": ["audio_choppy"], "comment": "better later"}),
    ]


async def test_after_the_end_feedback_is_still_taken(server: RunningServer) -> None:
    room = await server.create_room()
    async with server.client() as api:
        await api.post(f"/v1/rooms/{room['id']}/end")
    assert (await rate(server, room["join_urls"]["host"], rating=4))[0] == 202


async def test_bad_feedback_is_refused_and_changes_nothing(server: RunningServer) -> None:
    room = await server.create_room()
    guest = room["join_urls"]["guest"]
    for body in (
        {"rating": 0},
        {"rating": 6},
        {"rating": 3, "chips": ["boring"]},
        {"rating": 3, "comment": "x" * 1001},
    ):
        status, answer = await rate(server, guest, **body)
        assert status == 422, (body, answer)
    room_id, token = split_join_url(guest)
    async with server.client() as api:
        forged = await api.post(f"/s/{room_id}/feedback", json={"token": token[:-3] + "AAA", "rating": 1})
    assert forged.status_code == 401
    assert (await report(server, room["id"]))["feedback"] == []
