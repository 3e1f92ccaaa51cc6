"""What an operator watches: ``/healthz``, ``/readyz``, ``/metrics`` and JSON logs, on a real server."""

from __future__ import annotations

import json
import logging

import httpx
import pytest
from conftest import RunningServer
from postgres_server import PostgresServer
from prometheus_client.parser import text_string_to_metric_families
from wsclient import WsClient, joined, split_join_url

from app.logs import JsonFormatter, bind_connection, bind_room, configure_logging
from signaling.messages import Join, Ping, Stats


async def _metrics(server: RunningServer) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    async with httpx.AsyncClient(base_url=server.url, trust_env=False) as client:  # no API key
        response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    samples = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def _stats_frame() -> Stats:
    return Stats.model_validate({"type": "stats"})


async def test_health_and_readiness_need_no_key(server: RunningServer) -> None:
    async with httpx.AsyncClient(base_url=server.url, trust_env=False) as client:
        assert (await client.get("/healthz")).json() == {"status": "ok"}
        ready = await client.get("/readyz")
    assert ready.status_code == 200 and ready.json() == {"status": "ready"}


async def test_metrics_count_what_a_call_does_and_name_no_one(server: RunningServer) -> None:
    room = await server.create_room()
    ws_url = server.ws_url(room["id"])
    host, _ = await joined(ws_url, room["join_urls"]["host"])
    guest, _ = await joined(ws_url, room["join_urls"]["guest"])
    intruder = await WsClient.open(ws_url)
    await intruder.send(Join(token="not-a-token"))
    assert await intruder.closed_with() == 4001
    await host.send(_stats_frame())
    await host.recv_type("quality")
    await host.send("{not json")
    await host.recv_type("error")
    await guest.send(Ping(id=1))
    await guest.recv_type("pong")

    m = await _metrics(server)
    assert m[("duet_sockets_open", ())] == 2
    assert m[("duet_rooms_live", ())] == 1
    assert m[("duet_joins_total", (("result", "admitted"),))] == 2
    assert m[("duet_joins_total", (("result", "unauthorized"),))] == 1
    assert m[("duet_frames_in_total", (("type", "stats"),))] == 1
    assert m[("duet_frames_in_total", (("type", "invalid"),))] == 1
    assert m[("duet_frames_out_total", (("type", "quality"),))] == 1
    assert m[("duet_frames_out_total", (("type", "pong"),))] == 1
    assert m[("duet_stats_handle_seconds_count", ())] == 1
    assert m[("duet_db_query_seconds_count", ())] > 0
    assert ("duet_precall_tests_running", ()) in m and ("duet_event_loop_lag_seconds_count", ()) in m

    async with httpx.AsyncClient(base_url=server.url, trust_env=False) as client:
        text = (await client.get("/metrics")).text
    _, token = split_join_url(room["join_urls"]["host"])
    assert room["id"] not in text and token not in text and "Ana" not in text
    await host.close()
    await guest.close()


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
async def test_not_ready_while_the_database_is_gone(
    server: RunningServer, postgres: PostgresServer, database_url: str
) -> None:
    async with httpx.AsyncClient(base_url=server.url, trust_env=False) as client:
        assert (await client.get("/readyz")).status_code == 200
        await postgres.drop_database(database_url.rsplit("/", 1)[1])
        gone = await client.get("/readyz")
        alive = await client.get("/healthz")
    assert gone.status_code == 503 and gone.json() == {"status": "database unreachable"}
    assert alive.status_code == 200


def test_json_logs_carry_the_connection_and_no_secret(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("json", access_log=False)
    try:
        bind_connection(7)
        bind_room("r123", "guest")
        logging.getLogger("duet.signaling").warning("dropping a socket that does not read: %s", "why")
        logging.getLogger("uvicorn.error").info('127.0.0.1:5 - "WebSocket /s/r123/ws" [accepted]')
        try:
            raise ValueError("boom")
        except ValueError:
            logging.getLogger("duet.test").exception("it failed")
    finally:
        logging.getLogger().handlers[:] = []
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    assert [line["message"] for line in lines] == ["dropping a socket that does not read: why", "it failed"]
    first = lines[0]
    assert (first["level"], first["logger"], first["conn"], first["room_id"], first["role"]) == (
        "warning",
        "duet.signaling",
        7,
        "r123",
        "guest",
    )
    assert "ValueError: boom" in lines[1]["exception"]
    assert isinstance(JsonFormatter().format(logging.makeLogRecord({"msg": "x"})), str)
