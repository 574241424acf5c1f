"""Loaded into each server under test (bench/ticks.py puts this folder on
PYTHONPATH): appends every full (generation 2) garbage collection to the file
named by BENCH_GC_LOG, as `<wall time at its end> <pause seconds>`, so a
level's report can tell its stalls apart. The same hook for both servers; it
costs one check per collection."""

import gc
import os
import time
from typing import Any

_PATH = os.environ.get("BENCH_GC_LOG")

if _PATH:
    _log_path: str = _PATH
    _started = [0.0]

    def _watch(phase: str, info: dict[str, Any]) -> None:
        if info["generation"] != 2:
            return
        if phase == "start":
            _started[0] = time.perf_counter()
            return
        pause = time.perf_counter() - _started[0]
        with open(_log_path, "a") as log:
            log.write(f"{time.time():.3f} {pause:.4f}\n")

    gc.callbacks.append(_watch)
