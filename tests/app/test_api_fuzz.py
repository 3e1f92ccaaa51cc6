"""Schemathesis against the live OpenAPI of a real server (issue 10, "Fuzzing in CI").

Every operation in ``/openapi.json`` is called with generated inputs, valid ones (positive) and
invalid ones (negative), authenticated with the fixture's API key; the path's ``room_id`` and a
body's ``token`` are often swapped for a real room's and a real join link's, so the answers past the
404/401 are fuzzed too. No answer may be a 5xx (``not_a_server_error``), and every answer must match
its documented schema (``response_schema_conformance``).

Nothing is excluded: the phone console routes run with the console provider, which places no calls,
and the WebSocket is not in OpenAPI (``tests/app/test_socket_fuzz.py`` fuzzes it). Bounded: a fixed
number of examples per operation and mode, about 40 s here.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

import hypothesis.strategies as st
import pytest
import requests
import schemathesis
from conftest import RunningServer
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error, response_schema_conformance
from schemathesis.core.failures import Failure, FailureGroup
from wsclient import split_join_url

EXAMPLES = 25
"""Examples per operation and generation mode: 19 operations, 2 modes, 25 each: about 750 requests."""

pytestmark = [
    pytest.mark.parametrize("database_url", ["sqlite"], indirect=True),
    pytest.mark.parametrize(
        "server_settings", [{"phone_provider": "console", "phone_dial_in": "+15550100000"}]
    ),
]


@dataclass
class FuzzTally:
    """What the fuzzer did: cases sent, and the failures (5xx or schema mismatches) it met."""

    cases: int = 0
    failures: list[str] = field(default_factory=list)


@dataclass
class _Target:
    """The live server and the real room and join link swapped into cases."""

    url: str
    http: requests.Session
    headers: dict[str, str]
    token: str


def _fuzz_operation(
    target: _Target,
    operation: schemathesis.APIOperation,
    mode: GenerationMode,
    room_id: str,
    tally: FuzzTally,
) -> None:
    @given(case=operation.as_strategy(generation_mode=mode), real=st.booleans())
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,  # the same cases on every run: CI stays reproducible
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def run(case: schemathesis.Case, real: bool) -> None:
        if real and "room_id" in (case.path_parameters or {}):
            case.path_parameters = {**(case.path_parameters or {}), "room_id": room_id}
        if real and isinstance(case.body, dict) and "token" in case.body:
            case.body = {**case.body, "token": target.token}
        tally.cases += 1
        response = case.call(base_url=target.url, session=target.http, headers=target.headers, timeout=10)
        try:
            case.validate_response(response, checks=[not_a_server_error, response_schema_conformance])
        except (Failure, FailureGroup) as failure:  # every failure is tallied and shown
            tally.failures.append(f"{case.method} {case.formatted_path} ({mode.value}): {failure}")

    try:
        run()
    except Unsatisfiable:
        # Nothing to make invalid (an operation without parameters or body, as /healthz).
        assert mode is GenerationMode.NEGATIVE, operation.label


def _fuzz(url: str, api_key: str, rooms: tuple[str, str], token: str) -> FuzzTally:
    """Every operation of the live schema, in both generation modes (blocking: run in a thread)."""
    http = requests.Session()
    http.trust_env = False  # loopback only, whatever proxy the environment names
    target = _Target(url=url, http=http, headers={"Authorization": f"Bearer {api_key}"}, token=token)
    schema = schemathesis.openapi.from_dict(http.get(f"{url}/openapi.json", timeout=10).json())
    tally = FuzzTally()
    for result in schema.get_all_operations():
        operation = result.ok()
        # The room the join link belongs to stays open; ``/end`` ends the other one.
        room_id = rooms[1] if operation.path.endswith("/end") else rooms[0]
        for mode in GenerationMode:
            _fuzz_operation(target, operation, mode, room_id, tally)
    return tally


async def test_every_operation_answers_within_its_schema(server: RunningServer, record_property: Any) -> None:
    room, other = await server.create_room(), await server.create_room()
    _, token = split_join_url(room["join_urls"]["guest"])
    started = time.monotonic()
    tally = await asyncio.to_thread(_fuzz, server.url, server.api_key, (room["id"], other["id"]), token)
    seconds = time.monotonic() - started
    record_property("api_fuzz_cases", tally.cases)
    record_property("api_fuzz_server_errors", len(tally.failures))
    print(f"\nAPI fuzz: {tally.cases} cases, {len(tally.failures)} failures, {seconds:.0f} s")
    assert tally.failures == [], "\n\n".join(tally.failures[:10])
