"""Sessions in MongoDB: atomic, versioned writes so no concurrent update is lost."""

from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import pymongo
from bson import ObjectId
from pymongo import ASCENDING, DESCENDING, ReturnDocument, UpdateOne
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from focusgql.domain.daily import EndedSession
from focusgql.domain.session import FocusSession, snapshot
from focusgql.domain.timeline import Status, Timeline, millis
from focusgql.services.ports import (
    PageCursor,
    RunningSessionExists,
    SessionFilter,
    SessionTotals,
    SignalWrite,
)
from focusgql.store.documents import SessionDocument

Raw = dict[str, Any]


def to_domain(raw: Raw) -> FocusSession:
    return FocusSession(
        id=str(raw["_id"]),
        user_id=str(raw["user_id"]),
        target_minutes=raw["target_minutes"],
        content_id=raw.get("content_id"),
        timeline=Timeline(
            started_at=raw["started_at"],
            idle_threshold=raw["idle_threshold"],
            status=Status(raw["status"]),
            paused_ms=raw["paused_ms"],
            paused_at=raw.get("paused_at"),
            ended_at=raw.get("ended_at"),
            last_activity_second=raw["last_activity_second"],
            idle_before=raw["idle_before"],
        ),
        last_activity_at=raw["last_activity_at"],
        last_signal_at=raw["last_signal_at"],
        tab_switches=raw["tab_switches"],
        focus_score=raw.get("focus_score"),
        version=raw["version"],
    )


def counters(session: FocusSession, now: datetime) -> Raw:
    """The stored copy of the live counters, as of `now`."""
    counted = snapshot(session, now)
    return {
        "elapsed_seconds": counted.elapsed,
        "active_seconds": counted.active,
        "idle_seconds": counted.idle,
        "counted_at": now,
    }


def counters_pipeline(now: datetime, lapse_after: timedelta) -> list[Raw]:
    """`counters` as an update pipeline over an ACTIVE session's stored clock,
    for the database to apply to any number of sessions in one statement. The
    same arithmetic as Timeline (integer milliseconds, whole seconds; a test
    holds the two equal); a session past its abandon deadline is counted at
    that deadline, where the reaper will end it."""
    at = {"$min": [now, {"$add": ["$last_signal_at", millis(lapse_after)]}]}
    tau_ms = {"$max": [0, {"$subtract": [{"$subtract": [at, "$started_at"]}, "$paused_ms"]}]}
    elapsed = {"$toLong": {"$floor": {"$divide": [tau_ms, 1000]}}}
    silent = {"$subtract": ["$elapsed_seconds", "$last_activity_second"]}
    over = {"$subtract": [silent, "$idle_threshold"]}
    return [
        {"$set": {"elapsed_seconds": elapsed, "counted_at": at}},
        {"$set": {"idle_seconds": {"$add": ["$idle_before", {"$max": [0, over]}]}}},
        {"$set": {"active_seconds": {"$subtract": ["$elapsed_seconds", "$idle_seconds"]}}},
    ]


def to_fields(session: FocusSession, now: datetime) -> Raw:
    """Every stored field but the id, owner and version; counters as of `now`."""
    timeline = session.timeline
    return {
        "target_minutes": session.target_minutes,
        "content_id": session.content_id,
        "status": timeline.status.value,
        "running": timeline.status.is_running,
        "idle_threshold": timeline.idle_threshold,
        "started_at": timeline.started_at,
        "paused_ms": timeline.paused_ms,
        "paused_at": timeline.paused_at,
        "ended_at": timeline.ended_at,
        "last_activity_second": timeline.last_activity_second,
        "idle_before": timeline.idle_before,
        "last_activity_at": session.last_activity_at,
        "last_signal_at": session.last_signal_at,
        "focus_score": session.focus_score,
        **counters(session, now),
    }


SIGNAL_BATCHES_KEPT = 8


def _signal_update(write: SignalWrite, batch: ObjectId) -> UpdateOne:
    after, timeline = write.after, write.after.timeline
    change: Raw = {
        "$set": {
            "last_activity_second": timeline.last_activity_second,
            "idle_before": timeline.idle_before,
            **counters(after, write.counted_at),
        },
        # Keep-alives move last_signal_at without a version: never move it back.
        "$max": {
            "last_signal_at": after.last_signal_at,
            "last_activity_at": after.last_activity_at,
        },
        "$inc": {"version": 1},
        # Which write landed, should the bulk's counts say some did not.
        "$push": {"signal_batches": {"$each": [batch], "$slice": -SIGNAL_BATCHES_KEPT}},
    }
    tab_switches = after.tab_switches - write.before.tab_switches
    if tab_switches:
        change["$inc"]["tab_switches"] = tab_switches
    return UpdateOne({"_id": ObjectId(after.id), "version": write.before.version}, change)


def _oid(value: str) -> ObjectId | None:
    return ObjectId(value) if ObjectId.is_valid(value) else None


def _match(user_id: str, where: SessionFilter) -> Raw:
    query: Raw = {"user_id": ObjectId(user_id)}
    if where.status is not None:
        query["status"] = where.status.value
    started: Raw = {}
    if where.started_after is not None:
        started["$gte"] = where.started_after
    if where.started_before is not None:
        started["$lt"] = where.started_before
    if started:
        query["started_at"] = started
    return query


class MongoSessionRepository:
    def __init__(self, collection: AsyncCollection[Raw] | None = None) -> None:
        self._collection: AsyncCollection[Raw] = (
            collection if collection is not None else SessionDocument.get_pymongo_collection()
        )
        self.collection = self._collection
        self.documents_written = 0
        """Session documents inserted, updated or deleted by this process."""

    def new_id(self) -> str:
        return str(ObjectId())

    async def add(self, session: FocusSession) -> FocusSession:
        raw = {
            "_id": ObjectId(session.id),
            "user_id": ObjectId(session.user_id),
            "tab_switches": session.tab_switches,
            "version": 0,
            **to_fields(session, session.timeline.started_at),
        }
        try:
            await self._collection.insert_one(raw)
            self.documents_written += 1
        except DuplicateKeyError as error:
            raise RunningSessionExists(session.user_id) from error
        return replace(session, version=0)

    async def get(self, session_id: str) -> FocusSession | None:
        oid = _oid(session_id)
        raw = await self._collection.find_one({"_id": oid}) if oid else None
        return to_domain(raw) if raw else None

    async def running_for(self, user_id: str) -> FocusSession | None:
        raw = await self._collection.find_one({"user_id": ObjectId(user_id), "running": True})
        return to_domain(raw) if raw else None

    async def save(self, session: FocusSession, now: datetime) -> FocusSession | None:
        # tab_switches is left out: only add_tab_switch changes it, with $inc,
        # and that bumps the version so a concurrent save here retries.
        raw = await self._collection.find_one_and_update(
            {"_id": ObjectId(session.id), "version": session.version},
            {"$set": to_fields(session, now), "$inc": {"version": 1}},
            return_document=ReturnDocument.AFTER,
        )
        self.documents_written += raw is not None
        return to_domain(raw) if raw else None

    async def save_signals(self, writes: list[SignalWrite], within: float) -> list[bool]:
        # One bulk of single-document updates: SecantusDB takes a bulk of a
        # thousand in about the time of ten separate find_one_and_update calls.
        batch = ObjectId()
        operations = [_signal_update(write, batch) for write in writes]
        with pymongo.timeout(within):
            result = await self._collection.bulk_write(operations, ordered=False)
        self.documents_written += result.modified_count
        if result.matched_count == len(writes):
            return [True] * len(writes)
        # Some guard failed (another process changed the session first, or it
        # was deleted): each session remembers the last few batches it took.
        ids = [ObjectId(write.after.id) for write in writes]
        taken = {
            str(raw["_id"]): raw.get("signal_batches", [])
            async for raw in self._collection.find(
                {"_id": {"$in": ids}}, projection={"signal_batches": 1}
            )
        }
        return [batch in taken.get(write.after.id, ()) for write in writes]

    async def refresh_counters(
        self, now: datetime, older_than: datetime, lapse_after: timedelta
    ) -> int:
        result = await self._collection.update_many(
            {"status": Status.ACTIVE.value, "counted_at": {"$lt": older_than}},
            counters_pipeline(now, lapse_after),
        )
        self.documents_written += result.modified_count
        return result.modified_count

    async def add_tab_switch(
        self, session_id: str, user_id: str, now: datetime, signal_after: datetime
    ) -> FocusSession | None:
        oid = _oid(session_id)
        if oid is None:
            return None
        raw = await self._collection.find_one_and_update(
            {
                "_id": oid,
                "user_id": ObjectId(user_id),
                "status": Status.ACTIVE.value,
                "last_signal_at": {"$gt": signal_after},
            },
            {"$inc": {"tab_switches": 1, "version": 1}, "$max": {"last_signal_at": now}},
            return_document=ReturnDocument.AFTER,
        )
        self.documents_written += raw is not None
        return to_domain(raw) if raw else None

    async def touch(self, session_id: str, now: datetime, signal_after: datetime) -> None:
        result = await self._collection.update_one(
            # A lapsed session stays lapsed: its end is fixed at its deadline.
            {"_id": ObjectId(session_id), "running": True, "last_signal_at": {"$gt": signal_after}},
            {"$max": {"last_signal_at": now}},
        )
        self.documents_written += result.modified_count

    async def touch_many(
        self, session_ids: list[str], now: datetime, signal_after: datetime
    ) -> int:
        # One bulk write of single-document updates rather than an update_many
        # over `$in`: the same round trip, and SecantusDB handles a long `$in`
        # in time quadratic in its length.
        result = await self._collection.bulk_write(
            [
                UpdateOne(
                    {"_id": ObjectId(i), "running": True, "last_signal_at": {"$gt": signal_after}},
                    {"$max": {"last_signal_at": now}},
                )
                for i in session_ids
            ],
            ordered=False,
        )
        self.documents_written += result.modified_count
        return result.modified_count

    async def delete(self, session_id: str, user_id: str) -> bool:
        oid = _oid(session_id)
        if oid is None:
            return False
        result = await self._collection.delete_one({"_id": oid, "user_id": ObjectId(user_id)})
        self.documents_written += result.deleted_count
        return result.deleted_count == 1

    async def page(
        self, user_id: str, where: SessionFilter, after: PageCursor | None, limit: int
    ) -> list[FocusSession]:
        query = _match(user_id, where)
        if after is not None:
            position = {
                "$or": [
                    {"started_at": {"$lt": after.started_at}},
                    {"started_at": after.started_at, "_id": {"$lt": ObjectId(after.session_id)}},
                ]
            }
            query = {"$and": [query, position]}
        cursor = (
            self._collection.find(query)
            .sort([("started_at", DESCENDING), ("_id", DESCENDING)])
            .limit(limit)
        )
        return [to_domain(raw) async for raw in cursor]

    async def count(self, user_id: str, where: SessionFilter) -> int:
        return await self._collection.count_documents(_match(user_id, where))

    async def silent_since(self, deadline: datetime, limit: int) -> list[FocusSession]:
        cursor = (
            self._collection.find({"running": True, "last_signal_at": {"$lte": deadline}})
            .sort("last_signal_at", ASCENDING)
            .limit(limit)
        )
        return [to_domain(raw) async for raw in cursor]

    async def totals(self, user_id: str) -> SessionTotals:
        owner = ObjectId(user_id)
        total = await self._collection.count_documents({"user_id": owner})
        ended = {"user_id": owner, "running": False}
        rows = await (
            await self._collection.aggregate(
                [
                    {"$match": ended},
                    {
                        "$group": {
                            "_id": None,
                            "ended": {"$sum": 1},
                            "focus": {"$sum": "$active_seconds"},
                            "scores": {"$sum": "$focus_score"},
                        }
                    },
                ]
            )
        ).to_list()
        last = await self._collection.find_one(
            ended,
            projection={"focus_score": 1},
            sort=[("ended_at", DESCENDING), ("_id", DESCENDING)],
        )
        completed = self._collection.find(
            {"user_id": owner, "status": Status.COMPLETED.value}, projection={"ended_at": 1}
        )
        completed_at = [raw["ended_at"] async for raw in completed]
        summary = rows[0] if rows else {"ended": 0, "focus": 0, "scores": 0}
        return SessionTotals(
            total_sessions=total,
            ended_sessions=summary["ended"],
            completed_sessions=len(completed_at),
            total_focus_seconds=summary["focus"],
            score_sum=summary["scores"],
            last_focus_score=last["focus_score"] if last else None,
            completed_at=completed_at,
        )

    async def ended_between(
        self, user_id: str, start: datetime, end: datetime
    ) -> list[EndedSession]:
        # Both ended statuses, so the user_status_ended index serves each as a range.
        cursor = self._collection.find(
            {
                "user_id": ObjectId(user_id),
                "status": {"$in": [Status.COMPLETED.value, Status.ABANDONED.value]},
                "ended_at": {"$gte": start, "$lt": end},
            },
            projection={"ended_at": 1, "active_seconds": 1, "focus_score": 1, "status": 1},
        )
        return [
            EndedSession(
                ended_at=raw["ended_at"],
                active_seconds=raw["active_seconds"],
                focus_score=raw["focus_score"],
                completed=raw["status"] == Status.COMPLETED.value,
            )
            async for raw in cursor
        ]
