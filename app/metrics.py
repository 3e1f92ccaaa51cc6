"""What one duet process reports at ``/metrics`` (Prometheus text format, ``prometheus-client``).

Every metric lives in the app's own registry (never the library's global one), so two apps in one
process, as in the tests, count apart. Counting is cheap on the hot path: children for the known
label values are bound once, and nothing here awaits. Labels never carry a room id, a name, a
token or a phone number: only protocol types, codes, levels, modes and causes.
"""

from __future__ import annotations

import asyncio
import gc
import time
from collections.abc import Callable, Mapping
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from signaling.events import (
    ModeSwitched,
    PhoneFailed,
    PhoneJoined,
    PhoneLeft,
    QualitySample,
    RoomEvent,
    Suggested,
)

__all__ = ["CONTENT_TYPE", "Metrics"]

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

_FAST_S = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0)
"""Buckets (seconds) for work that should take well under the 25 ms target: handling a stats frame,
the event loop's lag, a collector pause."""
_DB_S = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)

LAG_PROBE_S = 0.25
"""How often (seconds) the event-loop lag is sampled: a sleep of this length that wakes late."""


class _Callbacks(Collector):
    """Gauges read at scrape time from the objects that know them (sockets, rooms, pre-call tests)."""

    def __init__(self) -> None:
        self.gauges: dict[str, tuple[str, Callable[[], float]]] = {}

    def collect(self) -> Any:
        for name, (doc, read) in self.gauges.items():
            yield GaugeMetricFamily(name, doc, value=read())


class Metrics:
    """The process's counters, gauges and histograms, and the probes that feed the loop and GC ones."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self._callbacks = _Callbacks()
        r.register(self._callbacks)

        def counter(name: str, doc: str, *labels: str) -> Counter:
            return Counter(name, doc, labels, registry=r)

        def histogram(name: str, doc: str, buckets: tuple[float, ...], *labels: str) -> Histogram:
            return Histogram(name, doc, labels, buckets=buckets, registry=r)

        self.joins = counter("duet_joins", "Joins: admitted, or the refusal's code.", "result")
        self.frames_in = counter("duet_frames_in", "Frames received, by type (invalid: unparsable).", "type")
        self.frames_out = counter("duet_frames_out", "Frames queued to sockets, by type.", "type")
        self.stats_seconds = histogram(
            "duet_stats_handle_seconds",
            "Seconds from a parsed stats frame to its quality reply being queued (scoring and policy).",
            _FAST_S,
        )
        self.rate_limited = counter(
            "duet_rate_limited", "Frames and joins refused for going over a limit, by what.", "kind"
        )
        self.slow_consumers = counter(
            "duet_slow_consumers_dropped", "Sockets dropped because they did not read their frames in time."
        )
        self.quality = counter(
            "duet_quality_samples",
            "Sampled link quality per direction.",
            "medium",
            "level",
        )
        self.suggestions = counter("duet_suggestions", "Fallback suggestions.", "mode", "cause")
        self.mode_switches = counter("duet_mode_switches", "Call mode switches.", "mode", "cause")
        self.phone_legs = counter(
            "duet_phone_legs", "Phone legs that joined, left or failed, by how they came.", "event", "via"
        )
        self.phone_wrong_pins = counter(
            "duet_phone_wrong_pins", "PINs entered at the dial-in menu that opened no session."
        )
        self.phone_pin_lockouts = counter(
            "duet_phone_pin_lockouts",
            "Times the dial-in menu stopped taking PINs from everyone: too many wrong PINs in a minute.",
        )
        self.loop_lag = histogram(
            "duet_event_loop_lag_seconds",
            f"How late a {LAG_PROBE_S} s sleep on the event loop wakes (the loop was held by something).",
            _FAST_S,
        )
        self.gc_pause = histogram(
            "duet_gc_pause_seconds", "Python garbage-collector pauses, by generation.", _FAST_S, "generation"
        )
        self.db_query = histogram("duet_db_query_seconds", "Seconds per database statement.", _DB_S)
        self._in: dict[str, Any] = {}
        self._out: dict[str, Any] = {}
        self._lag_task: asyncio.Task[None] | None = None
        self._gc_started = 0.0
        self._gc_children = [self.gc_pause.labels(str(g)) for g in range(3)]

    # --- what others call ------------------------------------------------------------------

    def gauge(self, name: str, doc: str, read: Callable[[], float]) -> None:
        """A gauge read at scrape time (``read`` must be cheap and never await)."""
        self._callbacks.gauges[name] = (doc, read)

    def frame_in(self, type_: str) -> None:
        child = self._in.get(type_)
        if child is None:
            child = self._in[type_] = self.frames_in.labels(type_)
        child.inc()

    def frame_out(self, type_: str) -> None:
        child = self._out.get(type_)
        if child is None:
            child = self._out[type_] = self.frames_out.labels(type_)
        child.inc()

    def event(self, event: RoomEvent) -> None:
        """A room event was recorded: count the ones that say how calls go."""
        match event:
            case QualitySample(data=data):
                self.quality.labels("audio", data.audio.value).inc()
                self.quality.labels("video", data.video.value).inc()
            case Suggested(data=data):
                self.suggestions.labels(data.mode.value, data.cause).inc()
            case ModeSwitched(data=data):
                self.mode_switches.labels(data.mode.value, data.cause).inc()
            case PhoneJoined(data=data) | PhoneLeft(data=data) | PhoneFailed(data=data):
                self.phone_legs.labels(event.type.removeprefix("phone."), data.via).inc()

    def render(self) -> bytes:
        return generate_latest(self.registry)

    # --- probes ------------------------------------------------------------------------------

    def start(self) -> None:
        """Start the event-loop lag probe and the collector hook."""
        self._lag_task = asyncio.create_task(self._probe_lag(), name="duet-loop-lag")
        gc.callbacks.append(self._on_gc)

    async def stop(self) -> None:
        if self._on_gc in gc.callbacks:
            gc.callbacks.remove(self._on_gc)
        if self._lag_task is not None:
            self._lag_task.cancel()
            await asyncio.gather(self._lag_task, return_exceptions=True)

    async def _probe_lag(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            asked = loop.time() + LAG_PROBE_S
            await asyncio.sleep(LAG_PROBE_S)
            self.loop_lag.observe(max(0.0, loop.time() - asked))

    def _on_gc(self, phase: str, info: Mapping[str, Any]) -> None:
        if phase == "start":
            self._gc_started = time.perf_counter()
        else:
            self._gc_children[int(info["generation"])].observe(time.perf_counter() - self._gc_started)
