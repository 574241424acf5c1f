"""The history against the real database: its figures equal recomputing from every session.

Random sequences of ends, deletes, tag edits, timezone and goal changes, and
bursts of concurrent writes (two ends of one session, retags and deletes of
others at once) run through the store; afterwards the stats, a year of daily
totals and the tag counts read from the history equal those recomputed from
the sessions themselves (the path used before the history), the same figures
from a cold process, and those after the history is rebuilt from scratch.
"""

import asyncio
from collections.abc import Coroutine
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

from bson import ObjectId
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pymongo.asynchronous.collection import AsyncCollection

from focusgql.domain.session import FocusSession
from focusgql.domain.timeline import Status, start
from focusgql.domain.user import User
from focusgql.services.frames import Frame
from focusgql.services.stats import StatsService
from focusgql.store.sessions import MongoSessionRepository, Raw
from tests.support import ManualClock

ZONES = ["UTC", "Europe/Paris", "America/St_Johns", "Asia/Kathmandu", "Pacific/Kiritimati"]
TAGS = st.lists(st.sampled_from(["a", "b", "c"]), max_size=2, unique=True).map(tuple)
BEGIN = datetime(2025, 3, 1, 22, 30, tzinfo=UTC)

end_op = st.tuples(
    st.just("end"),
    TAGS,
    st.integers(1, 3000),  # seconds it runs
    st.booleans(),  # completed
    st.integers(0, 4 * 86400),  # gap before it starts
    st.sampled_from([5, 3600]),  # idle threshold: mostly idle, or all active
)
delete_op = st.tuples(st.just("delete"), st.integers(0, 100))
retag_op = st.tuples(st.just("retag"), st.integers(0, 100), TAGS)
zone_op = st.tuples(st.just("zone"), st.sampled_from(ZONES), st.sampled_from([0, 1, 25]))
read_op = st.tuples(st.just("read"))
burst_op = st.tuples(st.just("burst"), st.integers(0, 100), st.integers(0, 100), TAGS)
operations = st.lists(
    st.one_of(end_op, end_op, end_op, delete_op, retag_op, zone_op, burst_op, read_op),
    min_size=1,
    max_size=30,
)


class Person:
    def __init__(self, repo: MongoSessionRepository) -> None:
        self.repo = repo
        self.user = User(
            id=str(ObjectId()),
            email="history@example.com",
            display_name=None,
            timezone="UTC",
            created_at=BEGIN,
        )
        self.now = BEGIN
        self.ids: list[str] = []

    def pick(self, index: int) -> str | None:
        return self.ids[index % len(self.ids)] if self.ids else None

    async def end(
        self, tags: tuple[str, ...], seconds: int, completed: bool, gap: int, idle: int
    ) -> None:
        self.now += timedelta(seconds=gap)
        session = FocusSession(
            id=self.repo.new_id(),
            user_id=self.user.id,
            target_minutes=25,
            content_id=None,
            timeline=start(self.now, idle),
            last_activity_at=self.now,
            last_signal_at=self.now,
            tags=tags,
        )
        await self.repo.add(session)
        self.ids.append(session.id)
        self.now += timedelta(seconds=seconds, milliseconds=seconds % 7)
        status = Status.COMPLETED if completed else Status.ABANDONED
        # Two ends of the same session at once (the person and the reaper): one wins.
        stored = await asyncio.gather(
            self.repo.save(session.ended(self.now, status), self.now),
            self.repo.save(session.ended(self.now, Status.ABANDONED), self.now),
        )
        assert sum(s is not None for s in stored) == 1

    async def delete(self, index: int) -> None:
        if (sid := self.pick(index)) is not None:
            await self.repo.delete(sid, self.user.id)

    async def retag(self, index: int, tags: tuple[str, ...]) -> None:
        sid = self.pick(index)
        found = None if sid is None else await self.repo.get(sid)
        if found is not None:
            await self.repo.save(replace(found, tags=tags), self.now)

    async def burst(self, first: int, second: int, tags: tuple[str, ...]) -> None:
        """A retag, a delete and a new end at once, all one person's history."""
        await asyncio.gather(
            self.retag(first, tags),
            self.delete(second),
            self.end(tags, 60, True, 1, 3600),
        )

    async def read(self) -> None:
        """Read (and so cache) the history between changes, as a dashboard does."""
        await self.repo.history(self.user.id)

    async def run(self, op: tuple[Any, ...]) -> None:
        kind, *args = op
        if kind == "zone":
            zone, goal = args
            self.user = replace(self.user, timezone=zone, daily_goal_minutes=goal)
        else:
            await getattr(self, kind)(*args)


async def figures(stats: StatsService, user: User, days: tuple[date, date]) -> tuple[Any, ...]:
    first, last = days
    return (
        [await stats.for_user(user, tag) for tag in (None, "a", "b")],
        await stats.daily_with_goal(user, first, last),
        await stats.daily_with_goal(user, first, last, "a"),
        await stats.tags(user),
    )


async def check(person: Person, collection: AsyncCollection[Raw], clock: ManualClock) -> None:
    person.repo.histories._cache.clear()
    cold = MongoSessionRepository(collection)

    async def running(user_id: str) -> Frame | None:
        found = await person.repo.running_for(user_id)
        return None if found is None else Frame.at(found, clock.now())

    clock.advance((person.now - clock.now()).total_seconds())
    last = person.now.astimezone(person.user.zone).date()
    days = (last - timedelta(days=365), last)
    want = await figures(
        StatsService(person.repo, clock, running, from_history=False), person.user, days
    )
    got = await figures(StatsService(person.repo, clock, running), person.user, days)
    assert got == want
    assert await figures(StatsService(cold, clock, running), person.user, days) == want
    await collection.database[f"{collection.name}.history"].delete_one({"_id": person.user.id})
    rebuilt = MongoSessionRepository(collection)
    assert await figures(StatsService(rebuilt, clock, running), person.user, days) == want


def on_loop(loop: asyncio.AbstractEventLoop, work: Coroutine[Any, Any, None]) -> None:
    asyncio.run_coroutine_threadsafe(work, loop).result()


async def test_the_history_equals_recomputing_from_every_session(
    sessions_collection: AsyncCollection[Raw],
) -> None:
    loop = asyncio.get_running_loop()
    repo = MongoSessionRepository(sessions_collection)
    clock = ManualClock(BEGIN)

    @settings(
        max_examples=20,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )
    @given(ops=operations)
    def sequence(ops: list[tuple[Any, ...]]) -> None:
        async def run() -> None:
            person = Person(repo)
            await person.read()  # built now, so every change after must keep it
            for op in ops:
                await person.run(op)
            await check(person, sessions_collection, clock)

        on_loop(loop, run())

    # Hypothesis drives from a thread; the database work runs on the test's loop.
    await asyncio.to_thread(sequence)
