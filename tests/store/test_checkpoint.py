"""Checkpoints: absolute, version-guarded, one bulk write; replays change nothing."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from bson import ObjectId

from focusgql.domain.session import FocusSession
from focusgql.domain.timeline import start
from focusgql.store.documents import SessionDocument
from focusgql.store.sessions import MongoSessionRepository

T0 = datetime(2026, 5, 1, 8, 0, tzinfo=UTC)


def new_session(repo: MongoSessionRepository) -> FocusSession:
    return FocusSession(
        id=repo.new_id(),
        user_id=str(ObjectId()),
        target_minutes=25,
        content_id=None,
        timeline=start(T0, 15),
        last_activity_at=T0,
        last_signal_at=T0,
    )


async def test_a_checkpoint_sets_counters_once_and_replays_change_nothing(
    bound_database: None,
) -> None:
    repo = MongoSessionRepository()
    sessions = [await repo.add(new_session(repo)) for _ in range(5)]
    at = T0 + timedelta(seconds=40)
    assert await repo.checkpoint(sessions, at) == 5
    assert await repo.checkpoint(sessions, at) == 0, "a replayed batch wrote again"
    raw = await SessionDocument.get_pymongo_collection().find_one({"_id": ObjectId(sessions[0].id)})
    assert raw is not None
    assert (raw["elapsed_seconds"], raw["active_seconds"], raw["idle_seconds"]) == (40, 15, 25)
    assert raw["counted_at"] == at
    assert raw["version"] == 0, "checkpoints must not look like changes"


async def test_a_checkpoint_from_a_stale_state_writes_nothing(bound_database: None) -> None:
    repo = MongoSessionRepository()
    session = await repo.add(new_session(repo))
    paused = await repo.save(replace(session, timeline=session.timeline.pause(T0)), T0)
    assert paused is not None and paused.version == 1
    assert await repo.checkpoint([session], T0 + timedelta(seconds=99)) == 0
    fresh = await repo.get(session.id)
    assert fresh is not None and fresh.timeline.paused_at == T0
