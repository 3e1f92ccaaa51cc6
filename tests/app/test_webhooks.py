"""Webhooks end to end: a real receiver verifies every delivery with the Standard Webhooks library."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from conftest import RunningServer
from webhook_receiver import Delivery, Receiver, running_receiver
from wsclient import WsClient, joined, split_join_url

from signaling.messages import Bye

FAST = {
    "webhook_allow_hosts": ["127.0.0.1"],
    "webhook_retry_schedule_s": [0.3, 0.6, 1.2],
    "webhook_timeout_s": 1.0,
    "attendance_check_s": 0.2,
}


@pytest.fixture
def server_settings() -> dict[str, Any]:
    return dict(FAST)


async def register(server: RunningServer, receiver: Receiver, **body: Any) -> dict[str, Any]:
    async with server.client() as client:
        response = await client.post("/v1/webhooks", json={"url": receiver.url, **body})
    assert response.status_code == 201, response.text
    endpoint: dict[str, Any] = response.json()
    receiver.secrets.append(endpoint["secret"])
    return endpoint


async def join(server: RunningServer, url: str) -> WsClient:
    """A protocol client in the room of join link ``url``, welcomed."""
    client, _ = await joined(server.ws_url(split_join_url(url)[0]), url)
    return client


def room_types(receiver: Receiver, room_id: str) -> list[str]:
    return receiver.accepted_types(room_id)


async def test_a_session_as_the_platform_hears_it(server: RunningServer) -> None:
    async with running_receiver() as (receiver, _):
        await register(server, receiver)
        room = await server.create_room(metadata={"booking": "b-17"})
        host = await join(server, room["join_urls"]["host"])
        guest = await join(server, room["join_urls"]["guest"])
        await guest.send(Bye())
        await guest.closed_with()
        async with server.client() as client:
            assert (await client.post(f"/v1/rooms/{room['id']}/end")).status_code == 200
        await host.closed_with()
        said = [
            "session.scheduled",
            "participant.joined",
            "participant.joined",
            "session.started",
            "participant.left",
            "participant.left",
            "session.ended",
        ]
        await receiver.wait_for(lambda r: len(room_types(r, room["id"])) >= len(said))
    mine = [d for d in receiver.accepted() if d.room_id == room["id"]]
    assert [d.type for d in mine] == said
    assert [d.sequence for d in mine] == list(range(1, len(said) + 1))
    assert all(d.verified_with == (receiver.secrets[0],) for d in receiver.got)
    assert len({d.id for d in mine}) == len(mine)
    joined = [d.body["data"] for d in mine if d.type == "participant.joined"]
    assert [(j["role"], j["name"], j["via"]) for j in joined] == [
        ("host", "Ana", "web"),
        ("guest", "Ben", "web"),
    ]
    assert all(d.body["data"]["metadata"] == {"booking": "b-17"} for d in mine)
    ended = mine[-1].body["data"]
    assert ended["reason"] == "ended"
    assert ended["attendance"]["host"]["first_joined_at"] is not None
    assert ended["attendance"]["together_s"] >= 0
    assert mine[-1].body["timestamp"] == ended["occurred_at"]


async def test_a_receiver_that_fails_gets_each_event_once_it_answers(server: RunningServer) -> None:
    def flaky(_: Delivery | None, n: int) -> tuple[int, dict[str, str], float]:
        return (
            [(500, {}, 0.0), (429, {"Retry-After": "1"}, 0.0), (200, {}, 2.0)][n] if n < 3 else (200, {}, 0.0)
        )

    async with running_receiver(flaky) as (receiver, _):
        await register(server, receiver, events=["session.scheduled"])
        room = await server.create_room()
        await receiver.wait_for(lambda r: len(r.accepted()) >= 2, timeout=15)
    attempts = [d for d in receiver.got if d.room_id == room["id"]]
    # 500, then 429 (waited its Retry-After), then a 2 s answer (over the 1 s timeout: no answer
    # as far as duet knows), then 200: the same webhook-id on every attempt.
    assert [d.answered for d in attempts] == [500, 429, 200, 200]
    assert len({d.id for d in attempts}) == 1
    assert attempts[2].at - attempts[1].at >= 0.9  # Retry-After: 1
    async with server.client() as client:
        endpoint = (await client.get("/v1/webhooks")).json()[0]
        page = (await client.get(f"/v1/webhooks/{endpoint['id']}/deliveries")).json()
    [delivery] = page["items"]
    assert (delivery["status"], delivery["attempts"], delivery["last_status_code"]) == ("delivered", 4, 200)


@pytest.mark.parametrize(
    ("code", "disabled"), [(410, True), (400, False)], ids=["410 disables the endpoint", "400 is not retried"]
)
async def test_a_refusal_is_final(server: RunningServer, code: int, disabled: bool) -> None:
    async with running_receiver(lambda _d, _n: (code, {}, 0.0)) as (receiver, _):
        endpoint = await register(server, receiver)
        await server.create_room()
        await receiver.wait_for(lambda r: len(r.got) >= 1)
        async with server.client() as client:
            for _ in range(50):
                page = (await client.get(f"/v1/webhooks/{endpoint['id']}/deliveries")).json()
                if page["items"] and page["items"][0]["status"] != "pending":
                    break
                await asyncio.sleep(0.1)
            state = (await client.get(f"/v1/webhooks/{endpoint['id']}")).json()
        await asyncio.sleep(1.0)  # past the first retry's time: nothing more comes
    assert len(receiver.got) == 1
    assert page["items"][0]["status"] == "failed"
    assert state["enabled"] is not disabled
    assert (state["disabled_reason"] is not None) is disabled


async def test_a_receiver_down_for_a_while_gets_everything_in_order_after(server: RunningServer) -> None:
    async with running_receiver() as (receiver, running):
        await register(server, receiver)
        await running.down()
        rooms = [await server.create_room() for _ in range(3)]
        host = await join(server, rooms[0]["join_urls"]["host"])
        await asyncio.sleep(1.0)  # some retries meet a closed port
        await running.up()
        # Back up: the room that was not waiting for a retry goes at once, and the endpoint's other
        # messages are brought forward by that first success.
        await receiver.wait_for(lambda r: len(r.accepted()) >= 4, timeout=15)
        await host.ws.close()
    got = receiver.accepted()
    assert sorted(d.type for d in got) == ["participant.joined", *["session.scheduled"] * 3]
    assert len({d.id for d in got}) == len(got)
    first = [d for d in got if d.room_id == rooms[0]["id"]]
    assert [d.sequence for d in first] == [1, 2]


@pytest.mark.parametrize(
    "server_settings",
    [{**FAST, "webhook_retry_schedule_s": [3600.0, 7200.0], "webhook_probe_s": 0.5}],
    ids=["retries an hour apart, probes every 0.5 s"],
)
async def test_a_receiver_back_from_an_outage_gets_what_waited_at_the_next_probe(
    server: RunningServer,
) -> None:
    async with running_receiver() as (receiver, running):
        endpoint = await register(server, receiver, events=["session.scheduled"])
        await running.down()
        rooms = [await server.create_room() for _ in range(3)]
        async with server.client() as api:
            page = await until_tried(api, endpoint["id"], 3)
            assert [d["status"] for d in page] == ["pending"] * 3  # next try in an hour
            await asyncio.sleep(1.2)  # probes meet the closed port: no retry is used up
            assert [d["attempts"] for d in await deliveries(api, endpoint["id"])] == [1, 1, 1]
            await running.up()
            await receiver.wait_for(lambda r: len(r.accepted()) == 3, timeout=10)
            final = await until_tried(api, endpoint["id"], 3, status="delivered")  # duet records after
    assert sorted(d.room_id or "" for d in receiver.accepted()) == sorted(r["id"] for r in rooms)
    assert [d["attempts"] for d in final] == [2, 2, 2]


async def until_tried(
    api: Any, endpoint_id: str, count: int, status: str | None = None
) -> list[dict[str, Any]]:
    """The endpoint's deliveries once ``count`` of them have had an attempt (and have ``status``)."""
    page: list[dict[str, Any]] = []
    for _ in range(100):
        page = await deliveries(api, endpoint_id)
        if len(page) == count and all(d["attempts"] and status in (None, d["status"]) for d in page):
            return page
        await asyncio.sleep(0.1)
    raise AssertionError(f"not every delivery was tried: {page}")


async def deliveries(api: Any, endpoint_id: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = (await api.get(f"/v1/webhooks/{endpoint_id}/deliveries")).json()["items"]
    return items


async def test_rotating_the_secret_signs_with_both_for_a_day(server: RunningServer) -> None:
    async with running_receiver() as (receiver, _):
        endpoint = await register(server, receiver, events=["ping"])
        async with server.client() as client:
            rotated = (await client.post(f"/v1/webhooks/{endpoint['id']}/rotate-secret")).json()
            receiver.secrets.append(rotated["secret"])
            assert rotated["secret"] != endpoint["secret"]
            assert "secret" not in (await client.get(f"/v1/webhooks/{endpoint['id']}")).json()
            sent = await client.post(f"/v1/webhooks/{endpoint['id']}/test")
            assert sent.status_code == 202, sent.text
            await receiver.wait_for(lambda r: len(r.accepted()) == 1)
            # A manual replay: the same webhook-id again.
            again = await client.post(f"/v1/webhooks/{endpoint['id']}/deliveries/{sent.json()['id']}/retry")
            assert again.status_code == 202
            await receiver.wait_for(lambda r: len(r.accepted()) == 2)
    first, second = receiver.accepted()
    assert first.type == "ping" and first.signatures == 2
    assert set(first.verified_with) == {endpoint["secret"], rotated["secret"]}
    assert second.id == first.id == sent.json()["id"]


@pytest.mark.parametrize("server_settings", [{**FAST, "waiting_after_s": 0.5}], ids=["waiting after 0.5 s"])
async def test_no_show_and_waiting(server: RunningServer) -> None:
    async with running_receiver() as (receiver, _):
        await register(
            server, receiver, events=["session.no_show", "participant.waiting", "participant.joined"]
        )
        room = await server.create_room(no_show_grace_minutes=0.02)  # 1.2 s
        host = await join(server, room["join_urls"]["host"])
        await receiver.wait_for(lambda r: len(r.accepted()) >= 3, timeout=10)
        await host.ws.close()
    assert sorted(receiver.accepted_types()) == [
        "participant.joined",
        "participant.waiting",
        "session.no_show",
    ]
    [verdict] = [d.body["data"] for d in receiver.accepted() if d.type == "session.no_show"]
    assert (verdict["missing"], verdict["grace_s"]) == ("guest", 1.2)
    [waiting] = [d.body["data"] for d in receiver.accepted() if d.type == "participant.waiting"]
    assert (waiting["role"], waiting["for_role"]) == ("host", "guest")
    assert waiting["waiting_s"] >= 0.5


async def test_a_reschedule_keeps_the_join_links_and_tells_the_platform(server: RunningServer) -> None:
    soon = datetime.now(UTC) + timedelta(seconds=3)
    async with running_receiver() as (receiver, _):
        await register(server, receiver, events=["session.rescheduled"])
        room = await server.create_room(expires_at=soon.isoformat())
        later = soon + timedelta(hours=1)
        async with server.client() as client:
            moved = await client.patch(f"/v1/rooms/{room['id']}", json={"expires_at": later.isoformat()})
        assert moved.status_code == 200, moved.text
        await receiver.wait_for(lambda r: len(r.accepted()) == 1)
        await asyncio.sleep(max(0.0, (soon - datetime.now(UTC)).total_seconds()) + 0.5)
        host = await join(server, room["join_urls"]["host"])  # the link issued with the first expiry
        await host.ws.close()
    data = receiver.accepted()[0].body["data"]
    assert datetime.fromisoformat(data["expires_at"]) == later
    assert datetime.fromisoformat(data["previous_expires_at"]) == soon


async def test_endpoints_belong_to_their_key_and_refuse_unknown_types(server: RunningServer) -> None:
    other = await server.make_api_key("other")
    async with running_receiver() as (receiver, _):
        endpoint = await register(server, receiver)
        async with server.client(other) as client:
            assert (await client.get(f"/v1/webhooks/{endpoint['id']}")).status_code == 404
            assert (await client.get("/v1/webhooks")).json() == []
            bad = await client.post(
                "/v1/webhooks", json={"url": receiver.url, "events": ["session.exploded"]}
            )
        assert bad.status_code == 422
        async with server.client() as client:
            patched = await client.patch(f"/v1/webhooks/{endpoint['id']}", json={"events": ["ping"]})
            assert patched.json()["events"] == ["ping"]
            assert (await client.delete(f"/v1/webhooks/{endpoint['id']}")).status_code == 204
            assert (await client.get(f"/v1/webhooks/{endpoint['id']}")).status_code == 404


@pytest.mark.parametrize("server_settings", [{}], ids=["no allow-list, not development"])
@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9/hook",
        "http://localhost/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://10.1.2.3/hook",
        "http://[::ffff:127.0.0.1]/hook",
        "ftp://example.com/hook",
    ],
)
async def test_urls_that_reach_duet_or_its_network_are_refused(server: RunningServer, url: str) -> None:
    async with server.client() as client:
        response = await client.post("/v1/webhooks", json={"url": url})
    assert response.status_code == 422, response.text
    assert response.json()["code"] in ("webhook_url_refused", "invalid_request")


@pytest.mark.parametrize(
    "server_settings",
    [{**FAST, "webhook_retry_schedule_s": [0.2] * 20, "webhook_disable_after_s": 1.0}],
    ids=["disabled after failing for 1 s"],
)
async def test_an_endpoint_failing_for_long_is_disabled_and_says_why(server: RunningServer) -> None:
    async with running_receiver(lambda _d, _n: (503, {}, 0.0)) as (receiver, _):
        endpoint = await register(server, receiver, events=["session.scheduled"])
        await server.create_room()
        async with server.client() as api:
            for _ in range(100):
                state = (await api.get(f"/v1/webhooks/{endpoint['id']}")).json()
                if not state["enabled"]:
                    break
                await asyncio.sleep(0.1)
            tries = len(receiver.got)
            await asyncio.sleep(0.6)  # disabled: nothing more is sent
            [pending] = await deliveries(api, endpoint["id"])
            assert len(receiver.got) == tries
            # Enabled again (the platform fixed its receiver): what waited goes out.
            receiver.answer = lambda _d, _n: (200, {}, 0.0)
            enabled = await api.patch(f"/v1/webhooks/{endpoint['id']}", json={"enabled": True})
            await receiver.wait_for(lambda r: len(r.accepted()) == 1)
    assert state["enabled"] is False and state["disabled_reason"].startswith("every delivery failed since")
    assert state["failing_since"] is not None
    assert pending["status"] == "pending"
    assert enabled.json()["enabled"] is True and enabled.json()["disabled_reason"] is None
