"""Pages of sessions found through the history's bound equal the brute-force order.

Sessions with shared start instants (ties broken by id), a running one, random
filters and page sizes, walked forward and backward from every kind of cursor;
and sessions written around the store (no history record) still appear.
"""

import asyncio
from collections.abc import Coroutine
from datetime import UTC, datetime, timedelta
from typing import Any

from bson import ObjectId
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pymongo.asynchronous.collection import AsyncCollection

from focusgql.domain.session import FocusSession
from focusgql.domain.timeline import Status, start
from focusgql.services.records import PageCursor, SessionFilter
from focusgql.store.sessions import MongoSessionRepository, Raw, to_fields

BEGIN = datetime(2025, 6, 1, tzinfo=UTC)

sessions_spec = st.lists(
    st.tuples(
        st.integers(0, 40),  # start, in minutes after BEGIN: many share one
        st.sampled_from([Status.COMPLETED, Status.ABANDONED]),
        st.booleans(),  # tagged
    ),
    min_size=0,
    max_size=40,
)
filters = st.builds(
    SessionFilter,
    status=st.sampled_from([None, Status.COMPLETED, Status.ABANDONED, Status.ACTIVE]),
    tag=st.sampled_from([None, "t"]),
    started_after=st.sampled_from([None, BEGIN + timedelta(minutes=10)]),
)


def session(user_id: str, minutes: int, tagged: bool, sid: str) -> FocusSession:
    at = BEGIN + timedelta(minutes=minutes)
    return FocusSession(
        id=sid,
        user_id=user_id,
        target_minutes=25,
        content_id=None,
        timeline=start(at, 15),
        last_activity_at=at,
        last_signal_at=at,
        tags=("t",) if tagged else (),
    )


def wanted(stored: list[FocusSession], where: SessionFilter) -> list[str]:
    def keep(s: FocusSession) -> bool:
        return (
            (where.status is None or s.status is where.status)
            and (where.tag is None or where.tag in s.tags)
            and (where.started_after is None or s.timeline.started_at >= where.started_after)
        )

    chosen = sorted(
        (s for s in stored if keep(s)), key=lambda s: (s.timeline.started_at, s.id), reverse=True
    )
    return [s.id for s in chosen]


async def walk(
    repo: MongoSessionRepository, user_id: str, where: SessionFilter, size: int, backward: bool
) -> list[str]:
    """Every page in one direction, as the service asks (one more than it shows)."""
    cursor: PageCursor | None = None
    seen: list[str] = []
    while True:
        rows = await repo.page(user_id, where, cursor, size + 1, backward=backward)
        shown = rows[:size]
        seen.extend(s.id for s in shown)
        if len(rows) <= size:
            return list(reversed(seen)) if backward else seen
        last = shown[-1]
        cursor = PageCursor(last.timeline.started_at, last.id)


async def check(
    collection: AsyncCollection[Raw],
    spec: list[tuple[int, Status, bool]],
    running: bool,
    around: int,
    where: SessionFilter,
    size: int,
) -> None:
    repo = MongoSessionRepository(collection)
    user_id = str(ObjectId())
    stored = [
        session(user_id, minutes, tagged, repo.new_id()).ended(
            BEGIN + timedelta(minutes=minutes, seconds=30), status
        )
        for minutes, status, tagged in spec
    ]
    await repo.add_ended(stored[around:])
    if stored[:around]:
        # Written around the store: the history never hears of them.
        await collection.insert_many(
            [
                {"_id": ObjectId(s.id), "user_id": ObjectId(user_id), "version": 0}
                | to_fields(s, BEGIN)
                for s in stored[:around]
            ]
        )
    if running:
        live = session(user_id, 41, True, repo.new_id())
        await repo.add(live)
        stored.append(live)
    await repo.history(user_id)
    want = wanted(stored, where)
    assert await walk(repo, user_id, where, size, backward=False) == want
    assert await walk(repo, user_id, where, size, backward=True) == want


def on_loop(loop: asyncio.AbstractEventLoop, work: Coroutine[Any, Any, None]) -> None:
    asyncio.run_coroutine_threadsafe(work, loop).result()


async def test_pages_equal_the_brute_force_order(
    sessions_collection: AsyncCollection[Raw],
) -> None:
    loop = asyncio.get_running_loop()

    @settings(
        max_examples=30,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )
    @given(
        spec=sessions_spec,
        running=st.booleans(),
        around=st.sampled_from([0, 0, 2]),
        where=filters,
        size=st.integers(1, 7),
    )
    def pages(
        spec: list[tuple[int, Status, bool]],
        running: bool,
        around: int,
        where: SessionFilter,
        size: int,
    ) -> None:
        on_loop(loop, check(sessions_collection, spec, running, around, where, size))

    await asyncio.to_thread(pages)
