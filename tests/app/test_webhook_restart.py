"""At-least-once across a crash: duet SIGKILLed with deliveries pending delivers them after restart."""

from __future__ import annotations

from pathlib import Path

from duet_process import DuetProcess
from webhook_receiver import running_receiver

SETTINGS = {
    "DUET_ENV": "test",
    "DUET_SECRET_KEY": "r" * 64,
    "DUET_ICE_SERVERS": "[]",
    "DUET_WEBHOOK_ALLOW_HOSTS": '["127.0.0.1"]',
    "DUET_WEBHOOK_RETRY_SCHEDULE_S": "[0.3, 0.6]",
}


async def test_pending_deliveries_survive_a_sigkill(tmp_path: Path, database_url: str) -> None:
    server = DuetProcess(tmp_path / "data", settings={**SETTINGS, "DUET_DATABASE_URL": database_url})
    await server.create_api_key()
    await server.start()
    try:
        async with running_receiver() as (receiver, running):
            async with server.api() as api:
                made = await api.post("/v1/webhooks", json={"url": receiver.url})
                assert made.status_code == 201, made.text
                receiver.secrets.append(made.json()["secret"])
                endpoint = made.json()["id"]
            await running.down()
            rooms = [await server.create_room() for _ in range(5)]
            async with server.api() as api:  # every event is stored, with its message, before the kill
                for _ in range(100):
                    page = (await api.get(f"/v1/webhooks/{endpoint}/deliveries")).json()
                    if len(page["items"]) == 5 and all(d["attempts"] >= 1 for d in page["items"]):
                        break
            assert len(page["items"]) == 5
            await server.kill()
            await running.up()
            await server.start()
            await receiver.wait_for(lambda r: len(r.accepted()) >= 5, timeout=15)
    finally:
        await server.stop()
    got = receiver.accepted()
    assert sorted(d.room_id or "" for d in got) == sorted(r["id"] for r in rooms)
    assert {d.id for d in got} == {d["id"] for d in page["items"]}  # the same webhook-ids as before
    assert all(d.verified_with for d in got)
    assert {d.type for d in got} == {"session.scheduled"}
