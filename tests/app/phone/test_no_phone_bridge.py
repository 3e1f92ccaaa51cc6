"""A deployment without a phone provider: "call me" and the webhooks say so."""

from __future__ import annotations

from conftest import RunningServer
from wsclient import split_join_url


async def test_without_a_provider_there_is_no_phone_bridge(server: RunningServer) -> None:
    room = await server.create_room(host={"name": "Ana", "phone": "+14155550123"})
    token = split_join_url(room["join_urls"]["host"])[1]
    async with server.client() as api:
        call_me = await api.post(f"/s/{room['id']}/call-me", json={"token": token})
        voice = await api.post("/phone/voice", data={"CallSid": "CA1"})
        console = await api.get("/phone/console/calls")
        preview = await api.post(f"/s/{room['id']}/preview", json={"token": token})
    assert (call_me.status_code, call_me.json()["code"]) == (503, "phone_disabled")
    assert (voice.status_code, console.status_code) == (503, 503)
    assert room["dial_in"] is None and preview.json()["call_me"] is None
