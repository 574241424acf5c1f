"""Garbage-collection pauses are timed per generation into lock-free buckets."""

import gc
import time

from focusgql.gcpolicy import PauseWatch
from focusgql.metrics import GC_PAUSE_BUCKETS, Metrics
from tests.api.test_metrics import sample


def test_each_collection_is_counted_under_its_generation() -> None:
    watch = PauseWatch(GC_PAUSE_BUCKETS)
    watch.install()
    try:
        gc.collect(2)
        gc.collect(2)
    finally:
        watch.remove()
    counts, total = watch.pauses(2)
    assert counts[-1] >= 2  # others may run meanwhile, never fewer
    assert counts == sorted(counts)  # cumulative
    assert total > 0
    gc.collect(2)  # removed: not counted any more
    assert watch.pauses(2)[0][-1] == counts[-1]


def test_a_pause_lands_in_the_first_bucket_at_or_above_it() -> None:
    watch = PauseWatch((0.1, 0.25, 0.5, 1.0))
    watch._started = time.perf_counter() - 0.3  # a 0.3 s collection, stopping now
    watch._callback("stop", {"generation": 1})
    counts, total = watch.pauses(1)
    assert counts == [0, 0, 1, 1, 1]
    assert 0.3 <= total < 0.5
    assert watch.pauses(0) == ([0] * 5, 0.0)


def test_metrics_export_the_pauses_as_a_histogram() -> None:
    metrics = Metrics()
    metrics.read_at_scrape(lambda: 0, lambda: 0, lambda: 0, lambda: 0)
    metrics.gc_pauses._started = time.perf_counter() - 0.02
    metrics.gc_pauses._callback("stop", {"generation": 2})
    text = metrics.render().decode()
    assert sample(text, 'focusgql_gc_pause_seconds_bucket{generation="2",le="0.01"}') == 0
    assert sample(text, 'focusgql_gc_pause_seconds_bucket{generation="2",le="0.025"}') == 1
    assert sample(text, 'focusgql_gc_pause_seconds_count{generation="2"}') == 1
    assert sample(text, 'focusgql_gc_pause_seconds_count{generation="0"}') == 0
