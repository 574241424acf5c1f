"""Counter refreshes: one statement computed by the database, equal to the domain's
own arithmetic, absolute, and a replay changes nothing."""

import asyncio
import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from bson import ObjectId
from pymongo.asynchronous.collection import AsyncCollection

from focusgql.domain.session import FocusSession, snapshot
from focusgql.domain.timeline import Status, start
from focusgql.store.sessions import MongoSessionRepository, Raw

T0 = datetime(2026, 5, 1, 8, 0, tzinfo=UTC)
LAPSE = timedelta(minutes=30)


@pytest.fixture
def repo(sessions_collection: AsyncCollection[Raw]) -> MongoSessionRepository:
    """A refresh covers every ACTIVE session in this test's own collection."""
    return MongoSessionRepository(sessions_collection)


def new_session(
    repo: MongoSessionRepository, at: datetime = T0, threshold: int = 15
) -> FocusSession:
    return FocusSession(
        id=repo.new_id(),
        user_id=str(ObjectId()),
        target_minutes=25,
        content_id=None,
        timeline=start(at, threshold),
        last_activity_at=at,
        last_signal_at=at,
    )


async def stored_counters(repo: MongoSessionRepository, session_id: str) -> tuple[int, int, int]:
    raw = await repo.collection.find_one({"_id": ObjectId(session_id)})
    assert raw is not None
    return raw["elapsed_seconds"], raw["active_seconds"], raw["idle_seconds"]


async def test_a_refresh_sets_counters_once_and_a_replay_changes_nothing(
    repo: MongoSessionRepository,
) -> None:
    sessions = [await repo.add(new_session(repo)) for _ in range(5)]
    at = T0 + timedelta(seconds=40)
    assert await repo.refresh_counters(at, at - timedelta(seconds=5), LAPSE) == 5
    assert await repo.refresh_counters(at, at - timedelta(seconds=5), LAPSE) == 0
    earlier = at - timedelta(seconds=3)  # a delayed, replayed refresh
    assert await repo.refresh_counters(earlier, earlier - timedelta(seconds=5), LAPSE) == 0
    raw = await repo.collection.find_one({"_id": ObjectId(sessions[0].id)})
    assert raw is not None
    assert (raw["elapsed_seconds"], raw["active_seconds"], raw["idle_seconds"]) == (40, 15, 25)
    assert raw["counted_at"] == at
    assert raw["version"] == 0, "refreshes must not look like changes"


async def test_paused_and_ended_sessions_keep_the_counters_their_change_stored(
    repo: MongoSessionRepository,
) -> None:
    paused = await repo.add(new_session(repo))
    pause_at = T0 + timedelta(seconds=7)
    saved = await repo.save(replace(paused, timeline=paused.timeline.pause(pause_at)), pause_at)
    assert saved is not None
    ended = await repo.add(new_session(repo))
    end_at = T0 + timedelta(seconds=9)
    assert await repo.save(ended.ended(end_at, Status.COMPLETED), end_at) is not None
    later = T0 + timedelta(minutes=5)
    assert await repo.refresh_counters(later, later, LAPSE) == 0
    assert await stored_counters(repo, paused.id) == (7, 7, 0)
    assert await stored_counters(repo, ended.id) == (9, 9, 0)


async def test_a_lapsed_session_is_counted_at_its_abandon_deadline(
    repo: MongoSessionRepository,
) -> None:
    session = await repo.add(new_session(repo))
    much_later = T0 + LAPSE + timedelta(minutes=10)
    assert await repo.refresh_counters(much_later, much_later, LAPSE) == 1
    deadline = snapshot(session, T0 + LAPSE)
    assert await stored_counters(repo, session.id) == (
        deadline.elapsed,
        deadline.active,
        deadline.idle,
    )


def random_history(repo: MongoSessionRepository, rng: random.Random, now: datetime) -> FocusSession:
    """A session driven through random activity, pauses and resumes, its last
    event a random while before `now` (recent, idle, or past its deadline)."""
    steps = [
        rng.choice([1, 999, 1000, 1001, rng.randrange(1, 90_000)])
        for _ in range(rng.randrange(0, 12))
    ]
    quiet = rng.choice([0, 1, 999, 1000, rng.randrange(0, 40_000), rng.randrange(0, 3_600_000)])
    at = now - timedelta(milliseconds=quiet + sum(steps))
    session = new_session(repo, at, threshold=rng.choice([5, 15, 60]))
    for step in steps:
        at += timedelta(milliseconds=step)
        timeline = session.timeline
        move = rng.random()
        if timeline.status is Status.PAUSED:
            timeline = timeline.resume(at) if move < 0.6 else timeline
        elif move < 0.15:
            timeline = timeline.pause(at)
        else:
            timeline = timeline.record_activity(at)
        session = replace(session, timeline=timeline, last_activity_at=at, last_signal_at=at)
    return session


async def test_the_database_counts_exactly_as_the_domain_does(
    repo: MongoSessionRepository,
) -> None:
    rng = random.Random(20261126)
    now = T0 + timedelta(hours=3)
    histories = [random_history(repo, rng, now) for _ in range(400)]
    for session in histories:
        await repo.add(session)
    # ACTIVE ones counted before now: every one but those that began at `now`.
    stale = [s for s in histories if s.status is Status.ACTIVE and s.timeline.started_at < now]
    assert await repo.refresh_counters(now, now, LAPSE) == len(stale)
    for session in histories:
        if session.status is Status.ACTIVE:
            expected = snapshot(session, min(now, session.abandon_at(int(LAPSE.total_seconds()))))
        else:  # PAUSED: as `add` stored it, untouched
            expected = snapshot(session, session.timeline.started_at)
        assert await stored_counters(repo, session.id) == (
            expected.elapsed,
            expected.active,
            expected.idle,
        ), session


async def test_a_refresh_that_meets_an_open_transaction_stops_no_other_write(
    repo: MongoSessionRepository,
) -> None:
    """An end's transaction holds its write until it commits; a refresh meeting
    it must wait for that one session only. (As one update_many it held
    SecantusDB's lock on the whole collection until the transaction ended.)"""
    held, other = [await repo.add(new_session(repo)) for _ in range(2)]
    at = T0 + timedelta(seconds=40)
    async with repo.collection.database.client.start_session() as txn:
        await txn.start_transaction()
        await repo.collection.update_one(
            {"_id": ObjectId(held.id)}, {"$set": {"content_id": "mid-end"}}, session=txn
        )
        refresh = asyncio.create_task(repo.refresh_counters(at, at, LAPSE))
        await asyncio.sleep(0.5)  # the refresh is waiting on `held` by now
        async with asyncio.timeout(10):
            await repo.touch(other.id, at, T0 - timedelta(seconds=1))
        await txn.commit_transaction()
    # It either waited out the transaction or gave the round up (the next
    # one catches up); it never fails.
    assert await refresh in (0, 2)
    later = at + timedelta(seconds=1)
    assert await repo.refresh_counters(later, later, LAPSE) == 2
    assert await stored_counters(repo, held.id) == (41, 15, 26)
