"""The signal journal against the brute-force oracle: whatever the order of
signals, pauses, folds and restarts (a new process reading the journal, as
after kill -9), every read and the folded documents show the oracle's counters,
and nothing is applied twice."""

import random
from datetime import UTC, datetime, timedelta

import pytest
from bson import ObjectId
from pymongo.asynchronous.collection import AsyncCollection

from focusgql.domain.session import FocusSession, snapshot
from focusgql.domain.timeline import Status
from focusgql.services.checkpoint import Checkpointer
from focusgql.services.live import LiveHub
from focusgql.services.sessions import SessionEdit, SessionPolicy, SessionService
from focusgql.store.sessions import MongoSessionRepository, Raw, to_domain
from tests.domain.oracle import Event, Kind, Oracle
from tests.services.test_signals import started
from tests.support import ManualClock

T0 = datetime(2026, 5, 1, 8, 0, tzinfo=UTC)
THRESHOLD = 15
PEOPLE = 6
STEPS = 160


def process(
    collection: AsyncCollection[Raw], clock: ManualClock
) -> tuple[SessionService, MongoSessionRepository]:
    """A fresh server process on the same collection: a journal name of its own."""
    repo = MongoSessionRepository(collection)
    checkpointer = Checkpointer(repo, clock, 3600, lapse_after=timedelta(seconds=1800))
    return SessionService(repo, LiveHub(clock), clock, SessionPolicy(), checkpointer), repo


def seen(session: FocusSession, now: datetime) -> tuple[int, int, int, int, str]:
    s = snapshot(session, now)
    return (s.elapsed, s.active, s.idle, s.tab_switches, session.status.value)


def expected(oracle: Oracle, events: list[Event], now: datetime) -> tuple[int, int, int, int, str]:
    c = oracle.counters(events, now)
    return (c.elapsed, c.active, c.idle, c.tab_switches, c.status)


@pytest.mark.parametrize("seed", range(6))
async def test_reads_and_folds_match_the_oracle_through_restarts(
    sessions_collection: AsyncCollection[Raw], seed: int
) -> None:
    rng = random.Random(seed)
    clock = ManualClock(T0)
    service, repo = process(sessions_collection, clock)
    sessions = [await started(repo, clock) for _ in range(PEOPLE)]
    oracle = Oracle(T0, THRESHOLD)
    events: dict[str, list[Event]] = {s.id: [] for s in sessions}
    status = {s.id: Status.ACTIVE for s in sessions}
    restarts = folds = 0
    for _ in range(STEPS):
        clock.advance(milliseconds=rng.choice([1, 250, 999, 1000, 4000, 17000]))
        now = clock.now()
        s = rng.choice(sessions)
        roll = rng.random()
        if roll < 0.45:
            await service.record_activity(s.user_id, s.id)
            events[s.id].append(Event(now, Kind.ACTIVITY))
        elif roll < 0.7:
            await service.record_tab_switch(s.user_id, s.id)
            events[s.id].append(Event(now, Kind.TAB_SWITCH))
        elif roll < 0.8:
            wanted = Status.PAUSED if status[s.id] is Status.ACTIVE else Status.ACTIVE
            await service.edit(s.user_id, s.id, SessionEdit(status=wanted))
            status[s.id] = wanted
            kind = Kind.PAUSE if wanted is Status.PAUSED else Kind.RESUME
            events[s.id].append(Event(now, kind))
        elif roll < 0.9:
            folds += 1
            await service.signals.fold(everything=rng.random() < 0.5)
        else:
            # kill -9: nothing folded or let go; the next process reads the journal.
            restarts += 1
            service, repo = process(sessions_collection, clock)
            await repo.journal.load()
            if rng.random() < 0.5:
                await service.signals.fold(everything=True)  # as at startup
        probe = rng.choice(sessions)
        read = await repo.get(probe.id)
        assert read is not None
        assert seen(read, clock.now()) == expected(oracle, events[probe.id], clock.now())
    assert restarts and folds
    now = clock.now()
    for s in sessions:
        read = await repo.get(s.id)
        assert read is not None
        assert seen(read, now) == expected(oracle, events[s.id], now), s.id
    await service.signals.fold(everything=True)
    assert await repo.journal.collection.count_documents({}) == 0
    for s in sessions:
        raw = await sessions_collection.find_one({"_id": ObjectId(s.id)})
        assert raw is not None
        assert seen(to_domain(raw), now) == expected(oracle, events[s.id], now), s.id
