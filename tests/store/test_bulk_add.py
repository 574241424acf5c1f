"""Running sessions inserted in bulk are stored exactly as `add` stores each."""

from dataclasses import replace
from datetime import UTC, datetime

from bson import ObjectId
from pymongo.asynchronous.collection import AsyncCollection

from focusgql.domain.session import FocusSession
from focusgql.domain.timeline import start
from focusgql.store.sessions import MongoSessionRepository, Raw

T0 = datetime(2026, 5, 1, 8, 0, 0, 250_000, tzinfo=UTC)


def running(repo: MongoSessionRepository, user_id: str) -> FocusSession:
    return FocusSession(
        id=repo.new_id(),
        user_id=user_id,
        target_minutes=50,
        content_id="chapter-3",
        timeline=start(T0, 15).record_activity(T0.replace(second=7)),
        last_activity_at=T0.replace(second=7),
        last_signal_at=T0.replace(second=7),
        tab_switches=2,
    )


async def test_add_running_stores_what_add_stores(
    sessions_collection: AsyncCollection[Raw],
) -> None:
    repo = MongoSessionRepository(sessions_collection)
    one = running(repo, str(ObjectId()))
    await repo.add(one)
    many = [running(repo, str(ObjectId())) for _ in range(5)]
    await repo.add_running(many, batch=2)

    def without_ids(raw: Raw | None) -> Raw:
        assert raw is not None
        return {k: v for k, v in raw.items() if k not in ("_id", "user_id")}

    reference = without_ids(await sessions_collection.find_one({"_id": ObjectId(one.id)}))
    for session in many:
        stored = await sessions_collection.find_one({"_id": ObjectId(session.id)})
        assert without_ids(stored) == reference
        assert await repo.get(session.id) == replace(session, version=0)
    assert await sessions_collection.count_documents({}) == 6
