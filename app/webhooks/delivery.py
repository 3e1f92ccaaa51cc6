"""The delivery worker: sends the outbox's messages, at least once, and retries what fails.

Each message is POSTed with its Standard Webhooks headers (``webhook-id`` the same on every attempt,
``webhook-timestamp`` the attempt's time, ``webhook-signature`` with every current secret), no
redirect followed, within ``DUET_WEBHOOK_TIMEOUT_S``. What counts:

- 2xx: delivered. The endpoint is answering again, so its other messages waiting for a retry are
  due at once (a receiver back from an outage catches up now, not at each message's next retry).
- network error, timeout, 5xx, 429: retried on ``DUET_WEBHOOK_RETRY_SCHEDULE_S`` (±20 % jitter), or
  after ``Retry-After`` when the receiver says so; ``failed`` after the last.
- 410 Gone: ``failed``, and the endpoint is disabled (the receiver says it is gone for good).
- any other 3xx or 4xx: ``failed`` at once (the receiver refused it; sending again would not help).
- an endpoint whose deliveries have failed for ``DUET_WEBHOOK_DISABLE_AFTER_S`` (3 days) is disabled.

A failing endpoint is probed every ``DUET_WEBHOOK_PROBE_S`` (30 s): its oldest waiting message is tried ahead
of its retry time, without counting against its retries. When the probe gets a 2xx, everything
waiting for that endpoint is due at once: a receiver back from an outage catches up within half a
minute, not at each message's next retry (up to hours later on the standard schedule).

A room's messages to an endpoint go in order (``store.due_messages``): a later one waits while an
earlier one is retried. The schedule lives in the database (``next_attempt_at``), so a restart
loses nothing: pending messages are picked up where they were.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime

import httpx

from app.db import Database
from app.models import utcnow
from app.webhooks import store
from app.webhooks.destinations import destination_refusal
from app.webhooks.models import DeliveryStatus, WebhookEndpoint
from app.webhooks.signing import signed_headers

__all__ = ["Deliverer", "Outcome", "judge"]

log = logging.getLogger("duet.webhooks")

USER_AGENT = "duet-webhooks/1"
POLL_S = 1.0
"""The worker looks for due messages at least this often (and at once when a batch wrote some)."""
RETRY_AFTER_MAX_S = 86_400.0
"""A receiver's ``Retry-After`` is honoured up to a day."""
JITTER = 0.2


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one attempt's answer means for the message and the endpoint."""

    status: DeliveryStatus
    retry_in_s: float | None = None
    """Seconds to the next attempt (pending only)."""
    disable: str | None = None
    """Why to disable the endpoint."""


def judge(
    code: int | None, retry_after: str | None, attempts: int, schedule: Sequence[float], *, now: datetime
) -> Outcome:
    """The outcome of attempt number ``attempts`` (1 for the first) that got ``code`` (``None``: no
    answer: a network error or a timeout) and maybe a ``Retry-After`` header (pure)."""
    if code is not None and 200 <= code < 300:
        return Outcome(DeliveryStatus.DELIVERED)
    if code == 410:
        return Outcome(DeliveryStatus.FAILED, disable="the endpoint answered 410 Gone")
    if code is not None and code < 500 and code != 429:
        return Outcome(DeliveryStatus.FAILED)
    if attempts > len(schedule):
        return Outcome(DeliveryStatus.FAILED)
    wait = schedule[attempts - 1] * random.uniform(1 - JITTER, 1 + JITTER)
    asked = _retry_after_s(retry_after, now) if code in (429, 503) else None
    return Outcome(DeliveryStatus.PENDING, retry_in_s=wait if asked is None else asked)


def _retry_after_s(value: str | None, now: datetime) -> float | None:
    """``Retry-After`` (RFC 9110 section 10.2.3): seconds, or an HTTP date; ``None`` if absent or bad."""
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            seconds = (parsedate_to_datetime(value) - now).total_seconds()
        except (TypeError, ValueError):
            return None
    return min(max(seconds, 0.0), RETRY_AFTER_MAX_S)


class Deliverer:
    """Sends due messages, ``max_in_flight`` at a time, until stopped."""

    def __init__(
        self,
        db: Database,
        *,
        schedule: Sequence[float],
        timeout_s: float,
        disable_after_s: float,
        max_in_flight: int,
        probe_every_s: float = 30.0,
        allow_private: bool,
        allow_hosts: frozenset[str],
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._db, self._schedule, self._clock = db, list(schedule), clock
        self._disable_after = timedelta(seconds=disable_after_s)
        self.allow_private, self.allow_hosts = allow_private, allow_hosts
        self._max = max_in_flight
        self._client = httpx.AsyncClient(
            timeout=timeout_s, follow_redirects=False, trust_env=False, headers={"user-agent": USER_AGENT}
        )
        self._wake = asyncio.Event()
        self._in_flight: dict[str, asyncio.Task[None]] = {}
        self._finished: dict[str, float] = {}
        """Message id -> ``time.monotonic()`` when its attempt was recorded (the last seconds')."""
        self._probed: dict[str, float] = {}
        """Failing endpoint id -> ``time.monotonic()`` of its last probe."""
        self.probe_every_s = probe_every_s
        self._task: asyncio.Task[None] | None = None

    def wake(self) -> None:
        self._wake.set()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="duet-webhooks")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        for task in list(self._in_flight.values()):
            task.cancel()
        await asyncio.gather(*self._in_flight.values(), return_exceptions=True)
        await self._client.aclose()

    async def _run(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), POLL_S)
            self._wake.clear()
            try:
                await self._send_due()
            except Exception:
                log.exception("webhook delivery round failed; trying again")
                await asyncio.sleep(POLL_S)

    async def _send_due(self) -> None:
        if self._max - len(self._in_flight) <= 0:
            return
        asked_at = time.monotonic()
        async with self._db.session() as session:
            due = [
                (m, False) for m in await store.due_messages(session, now=self._clock(), limit=self._max * 2)
            ]
            failing = [
                e
                for e in await store.failing_endpoints(session)
                if asked_at - self._probed.get(e, 0.0) >= self.probe_every_s
            ]
            if failing:
                heads = await store.due_messages(session, now=None, limit=self._max * 2, endpoint_ids=failing)
                for endpoint_id in failing:
                    self._probed[endpoint_id] = asked_at
                    head = next((m for m in heads if m.endpoint_id == endpoint_id), None)
                    if head is not None and all(head.id != m.id for m, _ in due):
                        due.append((head, True))
            endpoints = await store.get_endpoints(session, ids={m.endpoint_id for m, _ in due})
        now = self._clock()
        for message, probe in due:
            endpoint = endpoints.get(message.endpoint_id)
            if message.id in self._in_flight or endpoint is None or not endpoint.enabled:
                continue
            if self._finished.get(message.id, 0.0) >= asked_at:  # read before its attempt was recorded
                continue
            if len(self._in_flight) >= self._max:
                break
            job = _Job(
                message_id=message.id,
                endpoint_id=endpoint.id,
                url=endpoint.url,
                keys=_keys(endpoint, now),
                payload=message.payload,
                attempts=message.attempts,
                failing=endpoint.failing_since is not None,
                probe=probe,
            )
            task = asyncio.create_task(self._attempt(job), name=f"duet-webhook-{message.id[:12]}")
            self._in_flight[message.id] = task
            task.add_done_callback(functools.partial(self._done, message.id))

    def _done(self, message_id: str, _task: asyncio.Task[None]) -> None:
        self._in_flight.pop(message_id, None)
        now = time.monotonic()
        self._finished[message_id] = now
        if len(self._finished) > 10_000:  # only the last seconds' matter
            self._finished = {k: t for k, t in self._finished.items() if now - t < 10.0}
        self._wake.set()  # room for another; the room's next message may be due now

    async def _attempt(self, job: _Job) -> None:
        at = self._clock()
        code, retry_after, error = await self._post(job.url, job.payload, job.keys, job.message_id, at)
        await self._record(job, code, retry_after, error)

    async def _post(
        self, url: str, payload: str, keys: list[str], message_id: str, at: datetime
    ) -> tuple[int | None, str | None, str | None]:
        refusal = await destination_refusal(
            url, allow_private=self.allow_private, allow_hosts=self.allow_hosts
        )
        if refusal is not None:
            return None, None, f"not sent: {refusal}"[:200]
        headers = signed_headers(keys=keys, msg_id=message_id, at=at, body=payload)
        headers["content-type"] = "application/json"
        try:
            response = await self._client.post(url, content=payload.encode(), headers=headers)
        except httpx.TimeoutException:
            return None, None, "timed out"
        except httpx.HTTPError as exc:
            return None, None, f"{type(exc).__name__}: {exc}"[:200]
        error = None
        if 300 <= response.status_code < 400:
            error = "redirect not followed"
        elif response.status_code >= 400:
            error = f"HTTP {response.status_code}"
        return response.status_code, response.headers.get("retry-after"), error

    async def _record(self, job: _Job, code: int | None, retry_after: str | None, error: str | None) -> None:
        now = self._clock()
        outcome = judge(code, retry_after, job.attempts + 1, self._schedule, now=now)
        answered = {"last_attempt_at": now, "last_status_code": code, "last_error": error}
        async with self._db.session() as session:
            if job.probe and outcome.status is DeliveryStatus.PENDING:  # still down: the schedule stands
                self._probed[job.endpoint_id] = time.monotonic()
                await store.update_message(session, message_id=job.message_id, values=answered)
                await session.commit()
                return
            values: dict[str, object] = {
                **answered,
                "attempts": job.attempts + 1,
                "status": outcome.status.value,
            }
            if outcome.status is DeliveryStatus.DELIVERED:
                values["delivered_at"] = now
            elif outcome.retry_in_s is not None:
                values["next_attempt_at"] = now + timedelta(seconds=outcome.retry_in_s)
            await store.update_message(session, message_id=job.message_id, values=values)
            if outcome.status is DeliveryStatus.DELIVERED:
                self._probed.pop(job.endpoint_id, None)
                if job.failing:  # back from failing: what waits for a retry is due now
                    await store.endpoint_recovered(session, endpoint_id=job.endpoint_id, now=now)
            else:
                self._probed[job.endpoint_id] = time.monotonic()  # the next probe: a probe's time after this
                since = await store.endpoint_failed(session, endpoint_id=job.endpoint_id, now=now)
                reason = outcome.disable
                if reason is None and now - since >= self._disable_after:
                    reason = f"every delivery failed since {since:%Y-%m-%d %H:%M} UTC"
                if reason is not None and await store.disable_endpoint(
                    session, endpoint_id=job.endpoint_id, reason=reason
                ):
                    log.warning("webhook endpoint %s disabled: %s", job.endpoint_id, reason)
            await session.commit()


@dataclass(frozen=True, slots=True)
class _Job:
    """One attempt: what to send where, read with the round that found it due."""

    message_id: str
    endpoint_id: str
    url: str
    keys: list[str]
    payload: str
    attempts: int
    """Attempts before this one."""
    failing: bool
    """The endpoint's deliveries were failing when the round read it."""
    probe: bool


def _keys(endpoint: WebhookEndpoint, now: datetime) -> list[str]:
    """The secrets that sign now: the endpoint's, and for a day after a rotation the previous one."""
    until = endpoint.previous_secret_until
    if endpoint.previous_secret and until is not None and now < until:
        return [endpoint.secret, endpoint.previous_secret]
    return [endpoint.secret]
