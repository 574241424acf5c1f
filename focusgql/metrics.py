"""Prometheus metrics, one registry per app (several apps can share a process).

Counts that the app already keeps (sessions watched, listeners, documents
written) are read at scrape time, so the hot paths pay nothing for them; only
tick lateness, garbage-collection pauses and error codes are recorded as
they happen.
"""

import gc
from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from focusgql.gcpolicy import GENERATIONS, PauseWatch

LATENESS_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
GC_PAUSE_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0)


class _Reading(Collector):
    def __init__(self, read: Callable[[], Iterator[Metric]]) -> None:
        self._read = read

    def collect(self) -> Iterator[Metric]:
        return self._read()


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.tick_lateness = Histogram(
            "focusgql_tick_lateness_seconds",
            "How long after its due instant each tick was computed.",
            buckets=LATENESS_BUCKETS,
            registry=self.registry,
        )
        self.gc_pauses = PauseWatch(GC_PAUSE_BUCKETS)
        """Installed by the app while it runs; read at scrape time."""
        self.errors = Counter(
            "focusgql_graphql_errors",
            "GraphQL errors answered, by extensions.code.",
            ["code"],
            registry=self.registry,
        )
        self.webhook_attempts = Counter(
            "focusgql_webhook_attempts",
            "Webhook delivery attempts made by this process, by outcome: delivered, "
            "retry (failed, tried again later) or failed (failed for the last time).",
            ["outcome"],
            registry=self.registry,
        )
        self.signals_on_arrival = 0
        """Signals over a WebSocket answered as they arrived (focusgql/corked.py)."""

    def read_at_scrape(
        self,
        watched: Callable[[], int],
        subscriptions: Callable[[], int],
        running: Callable[[], int],
        writes: Callable[[], int],
    ) -> None:
        def read() -> Iterator[Metric]:
            yield GaugeMetricFamily(
                "focusgql_live_sessions", "Sessions with at least one live watcher.", watched()
            )
            yield GaugeMetricFamily(
                "focusgql_subscriptions", "Open sessionTicks subscriptions.", subscriptions()
            )
            yield GaugeMetricFamily(
                "focusgql_running_sessions",
                "Running sessions this process made or watched, and keeps current.",
                running(),
            )
            yield GaugeMetricFamily(
                "focusgql_gc_frozen_objects",
                "Objects frozen out of the garbage collector's view (FOCUSGQL_GC_FREEZE).",
                gc.get_freeze_count(),
            )
            yield self._gc_pause_family()
            yield CounterMetricFamily(
                "focusgql_database_writes",
                "Session documents written (inserts, updates, deletes, checkpoints).",
                writes(),
            )
            yield CounterMetricFamily(
                "focusgql_ws_signals_on_arrival",
                "Activity and tab switches over a WebSocket answered as they arrived, "
                "without a pass through the app's receive loop.",
                self.signals_on_arrival,
            )

        self.registry.register(_Reading(read))

    def _gc_pause_family(self) -> HistogramMetricFamily:
        family = HistogramMetricFamily(
            "focusgql_gc_pause_seconds",
            "How long each garbage collection held the process, by generation "
            "(2 = full: ticks wait for it).",
            labels=["generation"],
        )
        bounds = [str(bound) for bound in self.gc_pauses.buckets] + ["+Inf"]
        for generation in range(GENERATIONS):
            counts, total = self.gc_pauses.pauses(generation)
            family.add_metric(
                [str(generation)], list(zip(bounds, counts, strict=True)), sum_value=total
            )
        return family

    def render(self) -> bytes:
        return generate_latest(self.registry)
