"""The outbox in session documents: written with the change, taken out only
once handed on, and a change racing the hand-on keeps its events."""

import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from bson import ObjectId
from pymongo.asynchronous.collection import AsyncCollection

from focusgql.domain.session import FocusSession
from focusgql.domain.timeline import Status, start
from focusgql.services.outbox import Attempt, Delivery, DeliveryStatus, OutboxEvent, Webhook
from focusgql.store.outbox import MongoOutbox
from focusgql.store.sessions import MongoSessionRepository, Raw
from focusgql.store.webhooks import MongoWebhookRepository

T0 = datetime(2026, 5, 1, 8, 0, tzinfo=UTC)


def event(kind: str, at: datetime = T0) -> OutboxEvent:
    return OutboxEvent(id=f"msg_{uuid.uuid4().hex}", type=kind, at=at, body="{}")


@pytest.fixture
def repo(sessions_collection: AsyncCollection[Raw]) -> MongoSessionRepository:
    return MongoSessionRepository(sessions_collection)


@pytest.fixture
async def webhooks(
    sessions_collection: AsyncCollection[Raw],
) -> AsyncIterator[MongoWebhookRepository]:
    db = sessions_collection.database
    suffix = uuid.uuid4().hex[:8]
    hooks, deliveries = db[f"webhooks_{suffix}"], db[f"webhook_deliveries_{suffix}"]
    await deliveries.create_index([("event_id", 1), ("webhook_id", 1)], unique=True)
    yield MongoWebhookRepository(hooks, deliveries)
    await hooks.drop()
    await deliveries.drop()


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


async def test_events_are_written_with_the_change_and_kept_until_released(
    repo: MongoSessionRepository, sessions_collection: AsyncCollection[Raw]
) -> None:
    outbox = MongoOutbox(sessions_collection)
    started = event("session.started")
    created = await repo.add(new_session(repo), [started])
    assert [p.events for p in await outbox.pending(10)] == [[started]]

    ended_at = T0 + timedelta(minutes=3)
    ended = event("session.ended", ended_at)
    saved = await repo.save(created.ended(ended_at, Status.COMPLETED), ended_at, events=[ended])
    assert saved is not None and saved.status is Status.COMPLETED
    (pending,) = await outbox.pending(10)
    assert pending.events == [started, ended] and pending.session_id == created.id

    # A write that lost its version race writes no events either.
    stale = await repo.save(replace(created, target_minutes=50), ended_at, events=[event("x")])
    assert stale is None
    assert len((await outbox.pending(10))[0].events) == 2

    await outbox.release(created.id, [started.id, ended.id])
    assert await outbox.pending(10) == []


async def test_a_change_racing_the_release_keeps_its_event(
    repo: MongoSessionRepository, sessions_collection: AsyncCollection[Raw]
) -> None:
    outbox = MongoOutbox(sessions_collection)
    started = event("session.started")
    created = await repo.add(new_session(repo), [started])
    (seen,) = await outbox.pending(10)
    # Between reading the outbox and taking the events out, a pause lands.
    at = T0 + timedelta(seconds=30)
    paused = event("session.paused", at)
    saved = await repo.save(
        replace(created, timeline=created.timeline.pause(at)), at, events=[paused]
    )
    assert saved is not None
    await outbox.release(created.id, [e.id for e in seen.events])
    (left,) = await outbox.pending(10)
    assert left.events == [paused]


async def test_handing_on_twice_makes_one_delivery(webhooks: MongoWebhookRepository) -> None:
    """A process killed after copying an event but before releasing it: the
    next one copies it again, and the unique index keeps the first copy."""
    user = str(ObjectId())
    hook = Webhook(webhooks.new_id(), user, "http://example.com/", ("session.started",), "s", T0)
    await webhooks.add(hook)
    started = event("session.started")

    def copy() -> Delivery:
        return Delivery(
            id=webhooks.new_id(),
            webhook_id=hook.id,
            user_id=user,
            session_id=str(ObjectId()),
            event=started,
            status=DeliveryStatus.PENDING,
            attempts=0,
            due_at=T0,
        )

    first = copy()
    await webhooks.add_deliveries([first])
    await webhooks.add_deliveries([copy(), copy()])
    (stored,) = await webhooks.deliveries(user, hook.id, None, 10)
    assert stored.id == first.id


async def test_a_lease_keeps_a_delivery_from_everyone_else(
    webhooks: MongoWebhookRepository,
) -> None:
    user = str(ObjectId())
    hook = Webhook(webhooks.new_id(), user, "http://example.com/", ("session.started",), "s", T0)
    delivery = Delivery(
        id=webhooks.new_id(),
        webhook_id=hook.id,
        user_id=user,
        session_id=str(ObjectId()),
        event=event("session.started"),
        status=DeliveryStatus.PENDING,
        attempts=0,
        due_at=T0,
    )
    await webhooks.add_deliveries([delivery])
    lease_end = T0 + timedelta(seconds=40)
    mine = await webhooks.claim(T0, lease_end, "mine")
    assert mine is not None and mine.lease == "mine"
    assert await webhooks.claim(T0 + timedelta(seconds=39), lease_end, "theirs") is None
    # The lease ran out (its holder died): another may take it, and then the
    # first holder's record no longer counts.
    theirs = await webhooks.claim(lease_end, lease_end + timedelta(seconds=40), "theirs")
    assert theirs is not None and theirs.id == delivery.id
    assert not await webhooks.finish(mine, Attempt(200), lease_end, DeliveryStatus.DELIVERED, None)
    assert await webhooks.finish(theirs, Attempt(200), lease_end, DeliveryStatus.DELIVERED, None)
    (done,) = await webhooks.deliveries(user, None, DeliveryStatus.DELIVERED, 10)
    assert done.attempts == 1 and done.response_code == 200
