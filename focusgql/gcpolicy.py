"""The garbage collector, for a process that keeps thousands of live connections.

CPython's full (generation 2) collection walks every tracked object and holds
the event loop meanwhile: at 5,000 subscriptions that is about a million
objects and half a second, a tick late for everyone. Two things keep it
rare and short: the live path allocates nothing that outlives a tick (see
services/live.py), and at startup everything loaded so far (modules,
schema, library state: about a third of the objects at 5,000
subscriptions) is frozen out of the collector's view, since it lives as long
as the process anyway. Pauses are measured for /metrics either way.
"""

import gc
import time
from collections.abc import Callable
from typing import Any

Observe = Callable[[int, float], None]
"""Told each collection's generation and its pause in seconds."""


def freeze_what_is_loaded() -> int:
    """Collect once, then freeze every surviving object; how many are frozen."""
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()


class PauseWatch:
    """Times every garbage collection while installed (gc.callbacks)."""

    def __init__(self, observe: Observe) -> None:
        self._observe = observe
        self._started = 0.0

    def _callback(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self._observe(info["generation"], time.perf_counter() - self._started)

    def install(self) -> None:
        gc.callbacks.append(self._callback)

    def remove(self) -> None:
        if self._callback in gc.callbacks:
            gc.callbacks.remove(self._callback)
