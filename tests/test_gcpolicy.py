"""Garbage-collection pauses are timed per generation into lock-free buckets, and
the app sets the collector's thresholds for as long as it runs."""

import gc
import time
from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from focusgql.gcpolicy import PauseWatch
from focusgql.metrics import GC_PAUSE_BUCKETS, Metrics
from focusgql.settings import Settings
from tests.api.test_metrics import sample
from tests.support import ManualClock, serve


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


async def test_the_app_sets_its_gc_thresholds_while_it_runs(settings: Settings) -> None:
    before = gc.get_threshold()
    tuned = settings.model_copy(update={"gc_thresholds": (900, 17, 5)})
    async with serve(tuned, ManualClock(datetime(2026, 3, 2, tzinfo=UTC))):
        assert gc.get_threshold() == (900, 17, 5)
    assert gc.get_threshold() == before


@pytest.mark.parametrize(
    ("raw", "expected"), [("700,100,10", (700, 100, 10)), ("[1, 2,3]", (1, 2, 3))]
)
def test_thresholds_read_from_the_environment(
    raw: str, expected: tuple[int, int, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FOCUSGQL_GC_THRESHOLDS", raw)
    assert Settings().gc_thresholds == expected


@pytest.mark.parametrize("raw", ["", "700,100", "-1,10,10", "a,b,c"])
def test_malformed_thresholds_are_refused(raw: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FOCUSGQL_GC_THRESHOLDS", raw)
    with pytest.raises(ValidationError):
        Settings()
