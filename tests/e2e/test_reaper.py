"""Silent sessions end as ABANDONED exactly once, at the deterministic instant,
however many processes race to notice."""

import asyncio
from datetime import timedelta

import httpx
from bson import ObjectId

from focusgql.store.documents import SessionDocument
from tests.support import Client, RunningServer, seed_people, spawn

ABANDON_AFTER = 2
PEOPLE = 20


async def test_two_processes_abandon_each_silent_session_once(
    server: RunningServer, bound_database: None
) -> None:
    settings = server.settings
    tokens = await seed_people(settings, PEOPLE)
    env = {
        "FOCUSGQL_ABANDON_AFTER_SECONDS": str(ABANDON_AFTER),
        "FOCUSGQL_REAPER_INTERVAL_SECONDS": "0.05",
    }
    async with (
        spawn(settings, **env) as first,
        spawn(settings, **env) as second,
        httpx.AsyncClient(base_url=first.url, timeout=30) as http,
    ):
        create = "mutation { createSession(input: {targetMinutes: 5}) { id } }"
        created = await asyncio.gather(*(Client(http, t).execute(create) for t in tokens))
        ids = [ObjectId(c["createSession"]["id"]) for c in created]
        collection = SessionDocument.get_pymongo_collection()
        # Nobody reads these sessions: only the reapers can end them. Wait for all
        # (bounded: a loaded machine slows the rounds), then keep both racing a while.
        async with asyncio.timeout(30):
            while await collection.count_documents({"_id": {"$in": ids}, "running": True}):  # noqa: ASYNC110 - polling another process
                await asyncio.sleep(0.2)
        await asyncio.sleep(1)
        assert first.process.poll() is None and second.process.poll() is None

    for sid in ids:
        raw = await collection.find_one({"_id": sid})
        assert raw is not None
        assert raw["status"] == "ABANDONED"
        assert raw["ended_at"] == raw["last_signal_at"] + timedelta(seconds=ABANDON_AFTER)
        assert raw["version"] == 1, "ended more than once"
        assert raw["elapsed_seconds"] == ABANDON_AFTER
