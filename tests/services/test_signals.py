"""Group commit of signals on the real database: many people's activity in one
write, coalesced per session, exact after a lost race, refused when behind."""

import asyncio
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from bson import ObjectId
from pymongo.asynchronous.collection import AsyncCollection

from focusgql.domain.errors import Conflict, NotFound, Unavailable
from focusgql.domain.session import FocusSession
from focusgql.domain.timeline import Status, start
from focusgql.services.checkpoint import Checkpointer
from focusgql.services.frames import Frame
from focusgql.services.live import LiveHub
from focusgql.services.records import SignalEntry
from focusgql.services.sessions import SessionPolicy, SessionService
from focusgql.services.signals import SignalPolicy
from focusgql.store.sessions import MongoSessionRepository, Raw, to_domain
from tests.support import ManualClock

T0 = datetime(2026, 5, 1, 8, 0, tzinfo=UTC)


class CountingRepository(MongoSessionRepository):
    """The real repository, counting signal write commands; it can be told to
    stall them (a database that has stopped answering)."""

    def __init__(self, collection: AsyncCollection[Raw]) -> None:
        super().__init__(collection)
        self.signal_commands = 0
        self.stall: asyncio.Event | None = None

    async def append_signals(
        self, at: datetime, entries: list[SignalEntry], within: float
    ) -> tuple[str, int]:
        self.signal_commands += 1
        if self.stall is not None:
            await self.stall.wait()
        return await super().append_signals(at, entries, within)


@pytest.fixture
def repo(sessions_collection: AsyncCollection[Raw]) -> CountingRepository:
    return CountingRepository(sessions_collection)


def service_on(repo: CountingRepository, clock: ManualClock, **policy: float) -> SessionService:
    # As wired in production: the checkpointer keeps every running session's state.
    checkpointer = Checkpointer(repo, clock, 3600, lapse_after=timedelta(seconds=1800))
    return SessionService(
        repo,
        LiveHub(clock),
        clock,
        SessionPolicy(),
        checkpointer,
        signal_policy=SignalPolicy(**policy),  # type: ignore[arg-type]
    )


async def started(repo: MongoSessionRepository, clock: ManualClock) -> FocusSession:
    now = clock.now()
    return await repo.add(
        FocusSession(
            id=repo.new_id(),
            user_id=str(ObjectId()),
            target_minutes=25,
            content_id=None,
            timeline=start(now, 15),
            last_activity_at=now,
            last_signal_at=now,
        )
    )


async def stored(repo: MongoSessionRepository, session_id: str) -> FocusSession:
    session = await repo.get(session_id)
    assert session is not None
    return session


async def test_everyones_signals_in_a_window_are_one_write_command(
    repo: CountingRepository,
) -> None:
    clock = ManualClock(T0)
    service = service_on(repo, clock)
    sessions = [await started(repo, clock) for _ in range(40)]
    # Created elsewhere: each is read once, as its first signal comes.
    await asyncio.gather(*(service.record_activity(s.user_id, s.id) for s in sessions))
    before = repo.signal_commands
    clock.advance(20)  # all of them idle by 5 s: each activity changes the counters
    frames = await asyncio.gather(
        *(service.record_activity(s.user_id, s.id) for s in sessions),
        *(service.record_tab_switch(s.user_id, s.id) for s in sessions[:10]),
    )
    assert repo.signal_commands - before == 1  # for 50 signals of 40 sessions
    for frame in frames:
        assert frame.snapshot.elapsed == 20 and frame.snapshot.idle == 5
    for number, session in enumerate(sessions):
        saved = await stored(repo, session.id)  # the journal's entry, applied on read
        assert saved.timeline.last_activity_second == 21
        assert saved.tab_switches == (1 if number < 10 else 0)
        assert saved.version == 0
    journal = repo.journal.collection
    assert await journal.count_documents({}) == 1
    assert await service.signals.fold() == 40
    assert await journal.count_documents({}) == 0  # every session includes it: let go
    for number, session in enumerate(sessions):
        raw = await repo.collection.find_one({"_id": ObjectId(session.id)})
        assert raw is not None
        folded = to_domain(raw)
        assert folded.timeline.last_activity_second == 21
        assert folded.tab_switches == (1 if number < 10 else 0)
        assert folded.version == 1  # one write each, tab switch and activity together
    assert await service.signals.fold() == 0  # nothing left to fold


async def test_a_flood_for_one_session_is_coalesced_not_queued(repo: CountingRepository) -> None:
    clock = ManualClock(T0)
    service = service_on(repo, clock)
    session = await started(repo, clock)
    await service.record_activity(session.user_id, session.id)  # known from here on
    clock.advance(3)
    before = repo.signal_commands
    frames = await asyncio.gather(
        *(service.record_activity(session.user_id, session.id) for _ in range(500)),
        *(service.record_tab_switch(session.user_id, session.id) for _ in range(7)),
    )
    assert repo.signal_commands - before == 1
    assert {frame.session.tab_switches for frame in frames} == {7}
    saved = await stored(repo, session.id)
    assert saved.tab_switches == 7 and saved.timeline.last_activity_second == 4


async def test_a_signal_that_raced_another_process_is_folded_onto_the_winner(
    repo: CountingRepository,
) -> None:
    """Another process paused and resumed the session behind this one's back
    (no change feed here to tell it): the tab switch is journalled on the state
    this process knew, every read applies it to the stored winner, and the fold,
    whose guarded write fails, reads the session again and stores both."""
    clock = ManualClock(T0)
    service = service_on(repo, clock)
    session = await started(repo, clock)
    await service.record_tab_switch(session.user_id, session.id)
    clock.advance(10)
    known = await stored(repo, session.id)
    elsewhere = replace(known, timeline=known.timeline.pause(clock.now()))
    clock.advance(5)
    elsewhere = replace(elsewhere, timeline=elsewhere.timeline.resume(clock.now()))
    assert await repo.save(elsewhere, clock.now()) is not None
    clock.advance(1)
    frame = await service.record_tab_switch(session.user_id, session.id)
    assert frame.session.tab_switches == 2
    read = await stored(repo, session.id)
    assert read.tab_switches == 2 and read.timeline.paused_ms == 5000
    assert await service.signals.fold() == 0  # the guard failed: read afresh
    assert await service.signals.fold() == 1
    raw = await repo.collection.find_one({"_id": ObjectId(session.id)})
    assert raw is not None
    saved = to_domain(raw)
    assert saved.tab_switches == 2
    assert saved.timeline.paused_ms == 5000  # the other process's change is kept
    assert Frame.at(saved, clock.now()).snapshot.elapsed == 11
    assert await repo.journal.collection.count_documents({}) == 0


async def test_signals_for_someone_elses_or_an_ended_session_are_refused(
    repo: CountingRepository,
) -> None:
    clock = ManualClock(T0)
    service = service_on(repo, clock)
    session = await started(repo, clock)
    await service.record_activity(session.user_id, session.id)
    with pytest.raises(NotFound):
        await service.record_activity(str(ObjectId()), session.id)
    await service.end(session.user_id, session.id, Status.COMPLETED)
    with pytest.raises(Conflict):
        await service.record_tab_switch(session.user_id, session.id)
    assert (await stored(repo, session.id)).tab_switches == 0


async def test_a_stalled_database_gets_unavailable_at_once_not_a_queue(
    repo: CountingRepository,
) -> None:
    clock = ManualClock(T0)
    service = service_on(repo, clock, stall_seconds=0.2)
    first, second = await started(repo, clock), await started(repo, clock)
    await service.record_activity(second.user_id, second.id)  # known
    repo.stall = asyncio.Event()
    clock.advance(2)
    waiting = asyncio.ensure_future(service.record_activity(first.user_id, first.id))
    await asyncio.sleep(0.3)  # the write has been in flight longer than stall_seconds
    with pytest.raises(Unavailable) as refused:
        await service.record_activity(second.user_id, second.id)
    assert refused.value.extensions == {"code": "UNAVAILABLE", "retryAfter": 1}
    repo.stall.set()
    answered: Frame = await waiting
    assert answered.session.timeline.last_activity_second == 3


async def test_a_signal_write_lands_with_exactly_the_answered_state(
    repo: CountingRepository, sessions_collection: AsyncCollection[Raw]
) -> None:
    clock = ManualClock(T0)
    service = service_on(repo, clock)
    session = await started(repo, clock)
    clock.advance(40.5)
    answered = await service.record_activity(session.user_id, session.id)
    entry = await repo.journal.collection.find_one({})
    assert entry is not None
    assert entry["e"] == [[session.id, 1, 0]] and entry["at"] == clock.now()
    await service.signals.fold()
    raw = await sessions_collection.find_one({"_id": ObjectId(session.id)})
    assert raw is not None
    assert to_domain(raw).timeline == answered.session.timeline
    assert answered.snapshot.idle == 40 - 15 and answered.snapshot.active == 15


async def test_another_process_does_not_refold_what_the_writer_folded(
    sessions_collection: AsyncCollection[Raw],
) -> None:
    """A process that has another's entries in its overlay (from the journal)
    folds them only if their writer seems gone; when it finds the documents
    holding them already, it writes nothing."""
    clock = ManualClock(T0)
    writer_repo = CountingRepository(sessions_collection)
    other_repo = CountingRepository(sessions_collection)
    writer = service_on(writer_repo, clock)
    other = service_on(other_repo, clock)
    sessions = [await started(writer_repo, clock) for _ in range(3)]
    clock.advance(20)
    await asyncio.gather(*(writer.record_activity(s.user_id, s.id) for s in sessions))
    assert await other_repo.journal.load() >= 1  # as its journal feed would
    assert await writer.signals.fold() == 3
    clock.advance(600)  # long past any writer's fold round: the writer may be gone
    written = other_repo.documents_written
    assert await other.signals.fold() == 0
    assert other_repo.documents_written == written
    assert not any(other_repo.has_unfolded(s.id) for s in sessions)
    for session in sessions:
        saved = await stored(other_repo, session.id)
        assert saved.version == 1 and saved.timeline.last_activity_second == 21


async def test_a_refresh_after_a_long_fold_leaves_what_the_fold_stored(
    repo: CountingRepository,
) -> None:
    """The fold is paced: at thousands of people it outlasts a checkpoint
    interval. The refresh after it must not rewrite the documents it stored
    (most of them, in one statement the database would stall on), only those
    of sessions no signal came to."""
    clock = ManualClock(T0)
    service = service_on(repo, clock)
    checkpointer = Checkpointer(repo, clock, 10, lapse_after=timedelta(seconds=1800))
    clock.advance(-60)
    quiet = await started(repo, clock)  # counters stored a minute ago, no signal since
    clock.advance(60)
    busy = await started(repo, clock)
    clock.advance(1)
    await service.record_activity(busy.user_id, busy.id)

    async def long_fold(*, everything: bool = False) -> int:
        folded = await service.signals.fold(everything=everything)
        clock.advance(30)  # as long as a paced round at a few thousand sessions
        return folded

    checkpointer.fold = long_fold
    assert await checkpointer.flush() == 1  # the quiet one only
    raw = await repo.collection.find_one({"_id": ObjectId(busy.id)})
    assert raw is not None and raw["counted_at"] == T0 + timedelta(seconds=1)
    raw = await repo.collection.find_one({"_id": ObjectId(quiet.id)})
    assert raw is not None and raw["counted_at"] == T0 + timedelta(seconds=31)
