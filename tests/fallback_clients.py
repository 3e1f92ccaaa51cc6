"""Protocol clients that send synthetic stats reports on a fast clock (for the fallback tests)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any

from conftest import RunningServer
from report_sequences import CLEAN, Simulator, both
from wsclient import WsClient, joined

from signaling.messages import Role, dump_message
from signaling.stats import CallMode

FAST = {
    "stats_interval_s": 0.1,
    "quality_warmup_s": 0.5,
    "fallback_video_poor_s": 0.6,
    "fallback_audio_bad_s": 0.8,
    "fallback_recovery_s": 1.2,
    "fallback_cooldown_s": 60,
    "event_flush_interval_s": 0.02,
}


class Person:
    """A protocol client that keeps every frame it receives."""

    def __init__(self, client: WsClient) -> None:
        self.client = client
        self.frames: list[Any] = []
        self._arrived = asyncio.Condition()
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        with contextlib.suppress(Exception):
            while True:
                frame = await self.client.recv(timeout=30)
                async with self._arrived:
                    self.frames.append(frame)
                    self._arrived.notify_all()

    async def wait_for(
        self, type_: str, where: Callable[[Any], bool] = lambda f: True, timeout_s: float = 10
    ) -> Any:
        async with asyncio.timeout(timeout_s), self._arrived:
            while True:
                for frame in self.frames:
                    if frame.type == type_ and where(frame):
                        return frame
                await self._arrived.wait()

    def of(self, type_: str) -> list[Any]:
        return [f for f in self.frames if f.type == type_]

    async def close(self) -> None:
        self._reader.cancel()
        await self.client.close()


@contextlib.asynccontextmanager
async def call(server: RunningServer, **room: Any) -> AsyncIterator[tuple[dict[str, Any], Person, Person]]:
    created = await server.create_room(**room)
    ws = server.ws_url(created["id"])
    host_client, _ = await joined(ws, created["join_urls"]["host"])
    guest_client, _ = await joined(ws, created["join_urls"]["guest"])
    host, guest = Person(host_client), Person(guest_client)
    try:
        yield created, host, guest
    finally:
        await host.close()
        await guest.close()


class Reporter:
    """Sends both people's stats every interval along a scripted link."""

    def __init__(self, host: Person, guest: Person) -> None:
        self.sim = Simulator(interval_s=FAST["stats_interval_s"])
        self.people = {Role.HOST: host, Role.GUEST: guest}
        self.links = both(CLEAN)
        self._task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        while True:
            _, reports = self.sim.step(self.links)
            for role, person in self.people.items():
                await person.client.send(dump_message(reports[role]))
            await asyncio.sleep(self.sim.interval_s)  # the clients' report timer

    def follow(self, mode: CallMode) -> None:
        video = mode is CallMode.VIDEO
        self.sim.sending_video = {Role.HOST: video, Role.GUEST: video}

    async def stop(self) -> None:
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)
