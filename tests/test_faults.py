"""An outage is one WARNING and one INFO; a failing loop logs once per streak."""

import logging

import pytest
from pymongo.errors import NetworkTimeout, OperationFailure, PyMongoError

from focusgql.domain.errors import DatabaseUnavailable
from focusgql.faults import Outage, Retries
from focusgql.store.failures import translated

log = logging.getLogger("tests.faults")


def raised(error: PyMongoError) -> BaseException:
    """What the store raises for the driver's `error` (store/failures.py)."""
    return translated(error)


def outage_of(error: PyMongoError) -> DatabaseUnavailable:
    domain = raised(error)
    assert isinstance(domain, DatabaseUnavailable)
    return domain


def records(caplog: pytest.LogCaptureFixture) -> list[tuple[str, str, bool]]:
    return [(r.levelname, r.getMessage(), r.exc_info is not None) for r in caplog.records]


def test_an_outage_met_many_times_is_one_warning_then_one_info(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    outage = Outage(log)
    loops = [Retries(name, log, outage) for name in ("checkpoint", "reaper")]
    for _ in range(50):
        outage.failed(outage_of(NetworkTimeout("timed out")), "a request")
        for loop in loops:
            loop.failed(raised(NetworkTimeout("timed out")))
    assert outage.down
    for _ in range(3):
        for loop in loops:
            loop.succeeded()
    seen = records(caplog)
    assert [level for level, _, _ in seen] == ["WARNING", "INFO"], seen
    assert "NetworkTimeout in a request" in seen[0][1]
    assert "150 operations failed" in seen[1][1]
    assert not any(traced for _, _, traced in seen)
    assert not outage.down


def test_a_bug_in_a_loop_is_one_traceback_per_streak(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    outage = Outage(log)
    loop = Retries("checkpoint", log, outage)
    for _ in range(10):
        loop.failed(KeyError("version"))
    loop.succeeded()
    loop.failed(KeyError("version"))
    seen = records(caplog)
    assert [(level, traced) for level, _, traced in seen] == [
        ("ERROR", True),
        ("INFO", False),
        ("ERROR", True),
    ], seen
    assert not outage.down  # not the database's absence


def test_a_refusal_by_the_database_is_one_warning_without_a_traceback(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A standalone mongod refuses change streams on every try."""
    caplog.set_level(logging.INFO)
    loop = Retries("change stream", log, Outage(log))
    for _ in range(20):
        loop.failed(
            raised(OperationFailure("$changeStream is only supported on replica sets", 40573))
        )
    seen = records(caplog)
    assert len(seen) == 1 and seen[0][0] == "WARNING" and not seen[0][2], seen
    assert seen[0][1].startswith("change stream unavailable (")


def test_only_a_write_ends_an_outage(caplog: pytest.LogCaptureFixture) -> None:
    """A database whose disk is full still answers some reads."""
    caplog.set_level(logging.INFO)
    outage = Outage(log)
    reader = Retries("reaper", log, outage, writes=False)
    writer = Retries("checkpoint", log, outage)
    writer.failed(raised(NetworkTimeout("timed out")))
    reader.succeeded()
    assert outage.down
    writer.succeeded()
    assert not outage.down
    assert [r.levelname for r in caplog.records] == ["WARNING", "INFO"]
