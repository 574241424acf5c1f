"""Following a session through the service, on the real database: a change that
lands between the first read and the channel's start still reaches the follower."""

from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest
from bson import ObjectId
from pymongo.asynchronous.collection import AsyncCollection

from focusgql.domain.session import FocusSession
from focusgql.domain.timeline import Status, start
from focusgql.services.frames import Frame
from focusgql.services.live import LiveHub
from focusgql.services.sessions import SessionPolicy, SessionService
from focusgql.store.sessions import MongoSessionRepository, Raw
from tests.support import ManualClock

T0 = datetime(2026, 5, 1, 8, 0, tzinfo=UTC)


class DeletedMeanwhile(MongoSessionRepository):
    """The real repository; its second read of a session comes after someone
    else has deleted it (the race `follow` guards against, made certain)."""

    reads = 0

    async def get(self, session_id: str) -> FocusSession | None:
        self.reads += 1
        if self.reads == 2:
            await self.collection.delete_one({"_id": ObjectId(session_id)})
        return await super().get(session_id)


@dataclass
class Sink:
    frames: list[Frame] = field(default_factory=list)

    def __call__(self, frame: Frame) -> None:
        self.frames.append(frame)


@pytest.fixture
def repo(sessions_collection: AsyncCollection[Raw]) -> DeletedMeanwhile:
    return DeletedMeanwhile(sessions_collection)


async def test_a_session_deleted_while_following_starts_ends_for_the_follower(
    repo: DeletedMeanwhile,
) -> None:
    clock = ManualClock(T0)
    hub = LiveHub(clock)
    service = SessionService(repo, hub, clock, SessionPolicy())
    user_id = str(ObjectId())
    session = await repo.add(
        FocusSession(
            id=repo.new_id(),
            user_id=user_id,
            target_minutes=25,
            content_id=None,
            timeline=start(T0, 15),
            last_activity_at=T0,
            last_signal_at=T0,
        )
    )
    clock.advance(3)
    sink = Sink()
    following = await service.follow(user_id, session.id, sink)
    assert repo.reads == 2
    assert [frame.session.status for frame in sink.frames] == [Status.ACTIVE, Status.ABANDONED]
    assert sink.frames[-1].snapshot.elapsed == 3
    clock.advance(5)
    assert len(sink.frames) == 2  # ended: no more ticks
    following.close()
    assert hub.watched == 0
    hub.close()
