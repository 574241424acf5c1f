"""The garbage collector, for a process that keeps thousands of live connections.

CPython's full (generation 2) collection walks every tracked object and holds
the event loop meanwhile: at 5,000 subscriptions that is about a million
objects and half a second, a tick late for everyone. Three things keep it
rare and short: the live path allocates nothing that outlives a tick (see
services/live.py); at startup everything loaded so far (modules, schema,
library state: about a third of the objects at 5,000 subscriptions) is
frozen out of the collector's view, since it lives as long as the process
anyway; and the app raises the middle generation's threshold
(FOCUSGQL_GC_THRESHOLDS), because a full collection is due once enough
objects reach the oldest generation, and at thousands of sends a second
each middle collection promotes whatever sends happen to be in flight.
Pauses are measured for /metrics either way.
"""

import gc
import time
from bisect import bisect_left
from collections.abc import Sequence
from typing import Any

GENERATIONS = 3


def freeze_what_is_loaded() -> int:
    """Collect once, then freeze every surviving object; how many are frozen."""
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()


class PauseWatch:
    """Times every garbage collection while installed (gc.callbacks), into a
    histogram of its own per generation.

    Not a prometheus_client Histogram: the callback runs wherever a collection
    starts, possibly while that very histogram holds its (non-reentrant) lock
    for a scrape, which would deadlock. Plain integer adds need no lock; /metrics
    reads them (`pauses`).
    """

    def __init__(self, buckets: Sequence[float]) -> None:
        self.buckets = tuple(sorted(buckets))
        self._counts = [[0] * (len(self.buckets) + 1) for _ in range(GENERATIONS)]
        self._sums = [0.0] * GENERATIONS
        self._started = 0.0

    def _callback(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
            return
        seconds = time.perf_counter() - self._started
        generation = info["generation"]
        # Prometheus buckets are "less than or equal": the first bound >= seconds.
        self._counts[generation][bisect_left(self.buckets, seconds)] += 1
        self._sums[generation] += seconds

    def pauses(self, generation: int) -> tuple[list[int], float]:
        """Cumulative counts per bucket (the last is +Inf, the total) and the sum."""
        cumulative, running = [], 0
        for count in self._counts[generation]:
            running += count
            cumulative.append(running)
        return cumulative, self._sums[generation]

    def install(self) -> None:
        gc.callbacks.append(self._callback)

    def remove(self) -> None:
        if self._callback in gc.callbacks:
            gc.callbacks.remove(self._callback)
