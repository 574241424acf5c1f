"""The journal's change stream, on the real database: a process hears the
other processes' appends and every deletion, never its own appends."""

import asyncio
import contextlib
from datetime import UTC, datetime

from pymongo.asynchronous.collection import AsyncCollection

from focusgql.services.records import SignalEntry
from focusgql.store.changes import JournalFeed
from focusgql.store.sessions import MongoSessionRepository, Raw

AT = datetime(2026, 5, 1, 8, 0, tzinfo=UTC)


async def test_a_process_hears_others_appends_and_deletions_not_its_own(
    sessions_collection: AsyncCollection[Raw],
) -> None:
    mine = MongoSessionRepository(sessions_collection)
    theirs = MongoSessionRepository(sessions_collection)
    feed = JournalFeed(mine.journal, known=lambda _: None, observe=lambda _: None)
    running = asyncio.create_task(feed.run())
    try:
        async with asyncio.timeout(10):
            await feed.ready.wait()
        for _ in range(3):
            await mine.append_signals(AT, [SignalEntry("a" * 24, True, 0)], within=5)
        await theirs.append_signals(AT, [SignalEntry("b" * 24, False, 1)], within=5)
        async with asyncio.timeout(10):
            while feed.events < 1:  # noqa: ASYNC110 - polling the feed task
                await asyncio.sleep(0.01)
        await asyncio.sleep(0.3)  # anything more would have come by now
        assert feed.events == 1  # theirs only
        assert mine.has_unfolded("b" * 24)  # in the overlay: reads here include it
        await theirs.journal.collection.delete_many({"p": theirs.journal.proc})
        async with asyncio.timeout(10):
            while feed.events < 2:  # noqa: ASYNC110 - polling the feed task
                await asyncio.sleep(0.01)
        assert not mine.has_unfolded("b" * 24)
    finally:
        running.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await running
