"""Sessions in MongoDB: atomic, versioned writes so no concurrent update is lost."""

from collections import OrderedDict
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import pymongo
from bson import ObjectId
from pymongo import ASCENDING, DESCENDING, ReturnDocument, UpdateOne
from pymongo.asynchronous.change_stream import AsyncCollectionChangeStream
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from focusgql.domain.daily import EndedSession
from focusgql.domain.errors import Conflict, RunningSessionExists
from focusgql.domain.history import EndedRecord
from focusgql.domain.replay import SIGNAL_IDS_KEPT
from focusgql.domain.session import FocusSession, snapshot
from focusgql.domain.streaks import CompletedSession
from focusgql.domain.timeline import Status, Timeline, millis
from focusgql.services.outbox import OutboxEvent
from focusgql.services.records import PageCursor, SessionFilter, SessionTotals, SignalEntry
from focusgql.store.documents import SessionDocument
from focusgql.store.failures import domain_errors, driver_errors
from focusgql.store.history import HistoryStore
from focusgql.store.journal import SignalJournal
from focusgql.store.outbox import OUTBOX, PENDING, outbox_entry
from focusgql.store.pages import SLACK, Bound, Key, is_beyond, page_bound, record_matches
from focusgql.store.transactions import in_transaction

Raw = dict[str, Any]

BATCH_SECONDS = 60.0
"""Deadline of the statements over many sessions at once (every running one,
every one of a person), instead of the client's per-operation one: the
embedded database takes about a millisecond per document, so thousands of
them are seconds of honest work, not a stalled database."""

PAGE_KEYS_CACHED = 64


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
        journal_marks=tuple(sorted(raw.get("signal_marks", {}).items())),
        tags=tuple(raw.get("tags", ())),
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
    floor = {"$toLong": {"$floor": {"$divide": [tau_ms, 1000]}}}
    elapsed = {"$max": [floor, {"$subtract": ["$last_activity_second", 1]}]}  # as Timeline
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
        "tab_switches": session.tab_switches,
        "signal_marks": dict(session.journal_marks),
        "tags": list(session.tags),
        **counters(session, now),
    }


def _fold_update(session: FocusSession, now: datetime) -> Raw:
    fields = to_fields(session, now)
    # Keep-alives move last_signal_at without a version: never move it back.
    latest = {name: fields.pop(name) for name in ("last_signal_at", "last_activity_at")}
    return {"$set": fields, "$max": latest, "$inc": {"version": 1}}


def _oid(value: str) -> ObjectId | None:
    return ObjectId(value) if ObjectId.is_valid(value) else None


def _owned(user_id: str, tag: str | None) -> Raw:
    """The user's sessions, or only those carrying `tag` (a multikey match)."""
    query: Raw = {"user_id": ObjectId(user_id)}
    if tag is not None:
        query["tags"] = tag
    return query


def _match(user_id: str, where: SessionFilter) -> Raw:
    query = _owned(user_id, where.tag)
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


def _tighten(bounds: Raw, op: str, value: datetime) -> Raw:
    """`bounds` (a range on one field) with `op: value` added, keeping the narrower
    of two lower or two upper bounds of the same kind."""
    if op in bounds:
        value = max(bounds[op], value) if op in ("$gt", "$gte") else min(bounds[op], value)
    bounds[op] = value
    return bounds


def _new_document(session: FocusSession) -> Raw:
    """A session as first stored: counted as of its end, or its start while it runs."""
    return {
        "_id": ObjectId(session.id),
        "user_id": ObjectId(session.user_id),
        "version": 0,
        **to_fields(session, session.timeline.ended_at or session.timeline.started_at),
    }


@domain_errors
class MongoSessionRepository:
    def __init__(self, collection: AsyncCollection[Raw] | None = None) -> None:
        self._collection: AsyncCollection[Raw] = (
            collection if collection is not None else SessionDocument.get_pymongo_collection()
        )
        self.collection = self._collection
        # Named after the sessions' collection (`sessions.journal`), as GridFS
        # names its own: a second collection of sessions gets its own journal.
        journal = self._collection.database[f"{self._collection.name}.journal"]
        self.journal = SignalJournal(journal)
        self.histories = HistoryStore(self._collection.database[f"{self._collection.name}.history"])
        self._client = self._collection.database.client
        self.pages_from_history = True
        self._page_keys: OrderedDict[
            tuple[str, SessionFilter], tuple[Sequence[EndedRecord], list[Key]]
        ] = OrderedDict()
        """Whether pages are bounded by the history (bench/history.py turns it
        off to measure the plain query beside it)."""
        self.documents_written = 0
        """Session documents inserted, updated or deleted by this process."""

    def new_id(self) -> str:
        return str(ObjectId())

    @driver_errors
    async def watch(
        self, pipeline: list[Raw], resume_after: Mapping[str, Any] | None = None
    ) -> AsyncCollectionChangeStream[Raw]:
        """The sessions' change stream, open, for store/changes.py: with the
        driver's errors, as the stream itself raises them and the feed reads
        what they say (a resume token too old)."""
        return await self._collection.watch(pipeline, resume_after=resume_after)

    async def add(self, session: FocusSession, events: Sequence[OutboxEvent] = ()) -> FocusSession:
        raw = _new_document(session)
        if events:
            raw[OUTBOX] = [outbox_entry(e) for e in events]
            raw[PENDING] = True
        try:
            if session.status.is_running:
                await self._collection.insert_one(raw)
            else:
                await self._write_ended([raw])
            self.documents_written += 1
        except DuplicateKeyError as error:
            raise RunningSessionExists(session.user_id) from error
        return replace(session, version=0)

    async def add_running(self, sessions: Sequence[FocusSession], batch: int = 1000) -> None:
        """Insert running sessions of many people at once (an import, a
        benchmark's load) as `add` stores each, `batch` to a write."""
        raws = [_new_document(s) for s in sessions if s.status.is_running]
        for start in range(0, len(raws), batch):
            await self._collection.insert_many(raws[start : start + batch], ordered=False)
            self.documents_written += len(raws[start : start + batch])

    async def add_ended(self, sessions: Sequence[FocusSession], batch: int = 500) -> None:
        """Insert ended sessions of one person (an import, a benchmark's
        history), with their history records, `batch` to a transaction."""
        raws = [_new_document(s) for s in sessions if not s.status.is_running]
        for start in range(0, len(raws), batch):
            await self._write_ended(raws[start : start + batch])
            self.documents_written += len(raws[start : start + batch])

    async def _write_ended(self, raws: list[Raw]) -> None:
        async def work(txn: AsyncClientSession) -> None:
            await self._collection.insert_many(raws, session=txn)
            await self.histories.put(txn, raws)

        await in_transaction(self._client, work)

    async def get(self, session_id: str) -> FocusSession | None:
        oid = _oid(session_id)
        raw = await self._collection.find_one({"_id": oid}) if oid else None
        return self._read(raw) if raw else None

    def _read(self, raw: Raw) -> FocusSession:
        """A session as stored, with the signals not folded into it yet."""
        return self.journal.merge(to_domain(raw))

    async def running_for(self, user_id: str) -> FocusSession | None:
        raw = await self._collection.find_one({"user_id": ObjectId(user_id), "running": True})
        return self._read(raw) if raw else None

    async def save(
        self,
        session: FocusSession,
        now: datetime,
        *,
        signal_ids: Sequence[str] = (),
        events: Sequence[OutboxEvent] = (),
    ) -> FocusSession | None:
        guard = {"_id": ObjectId(session.id), "version": session.version}
        update: Raw = {"$set": to_fields(session, now), "$inc": {"version": 1}}
        push: Raw = {}
        if signal_ids:
            # The newest only: a retry comes within the signal age, not days later.
            push["signal_ids"] = {"$each": list(signal_ids), "$slice": -SIGNAL_IDS_KEPT}
        if events:
            # In the same write as the change: no crash can keep one without the other.
            push[OUTBOX] = {"$each": [outbox_entry(e) for e in events]}
            update["$set"][PENDING] = True
        if push:
            update["$push"] = push
        if session.status.is_running:
            # Ended is final, so what this replaces was running too: no record changes.
            raw = await self._collection.find_one_and_update(
                guard, update, projection={"signal_ids": 0}, return_document=ReturnDocument.AFTER
            )
        else:

            async def work(txn: AsyncClientSession) -> Raw | None:
                # An update and a read in one transaction rather than a
                # find-and-modify, which SecantusDB runs slowly on a large
                # collection (55-220 ms against 3 ms: bench/README.md).
                result = await self._collection.update_one(guard, update, session=txn)
                if not result.modified_count:
                    return None
                stored = await self._collection.find_one(
                    {"_id": guard["_id"]}, projection={"signal_ids": 0}, session=txn
                )
                if stored is not None:
                    await self.histories.put(txn, [stored])
                return stored

            raw = await in_transaction(self._client, work)
        self.documents_written += raw is not None
        return self._read(raw) if raw else None

    async def signal_ids(self, session_id: str) -> list[str]:
        oid = _oid(session_id)
        raw = (
            await self._collection.find_one({"_id": oid}, projection={"signal_ids": 1})
            if oid
            else None
        )
        return list(raw.get("signal_ids", ())) if raw else []

    async def append_signals(
        self, at: datetime, entries: list[SignalEntry], within: float
    ) -> tuple[str, int]:
        return await self.journal.append(at, entries, within)

    def unfolded(self, foreign_before: datetime) -> list[str]:
        return self.journal.unfolded(foreign_before)

    def sessions_with_signals(self) -> int:
        return self.journal.sessions

    def has_unfolded(self, session_id: str) -> bool:
        return self.journal.has_entries(session_id)

    async def fold(self, sessions: list[FocusSession], now: datetime) -> list[bool]:
        # One bulk of version-guarded updates; each carries the journal marks of
        # what it includes, so the journal knows what it may let go. Only running
        # sessions are folded (signals.py), so no history record changes.
        if not sessions:
            return []
        result = await self._collection.bulk_write(
            [
                UpdateOne({"_id": ObjectId(s.id), "version": s.version}, _fold_update(s, now))
                for s in sessions
            ],
            ordered=False,
        )
        self.documents_written += result.modified_count
        if result.matched_count == len(sessions):
            stored = [True] * len(sessions)
        else:
            # Some guard failed: the document says which writes it holds.
            ids = [ObjectId(s.id) for s in sessions]
            held = {
                str(raw["_id"]): (raw["version"], raw.get("signal_marks", {}))
                async for raw in self._collection.find(
                    {"_id": {"$in": ids}}, projection={"version": 1, "signal_marks": 1}
                )
            }
            stored = [
                held.get(s.id, (None, None)) == (s.version + 1, dict(s.journal_marks))
                for s in sessions
            ]
        for session, ok in zip(sessions, stored, strict=True):
            if ok:
                self.journal.settle(session)
        return stored

    async def drop_folded(self, within: float) -> int:
        return await self.journal.drop_folded(within)

    def discard_signals(self, session_id: str) -> None:
        self.journal.discard(session_id)

    async def refresh_counters(
        self, now: datetime, older_than: datetime, lapse_after: timedelta
    ) -> int:
        stale: Raw = {"status": Status.ACTIVE.value, "counted_at": {"$lt": older_than}}
        pipeline = counters_pipeline(now, lapse_after)

        async def work(txn: AsyncClientSession) -> int:
            result = await self._collection.update_many(stale, pipeline, session=txn)
            return result.modified_count

        # In a transaction of its own: outside one, SecantusDB holds its write
        # lock on the whole collection while a multi-document update retries
        # against another transaction's uncommitted write (an end's), so every
        # write to sessions waited until that transaction ended, and the ones
        # timing out meanwhile left more behind (a CI run's reaper test stalled
        # a minute). Inside one, the conflict comes back at once and is retried
        # here, the lock released. Still one statement: per-document updates
        # cost the database 2.3 times as much at 2,000 sessions.
        try:
            with pymongo.timeout(BATCH_SECONDS):
                modified = await in_transaction(self._client, work)
        except Conflict:
            return 0  # a transaction held one of them all along: the next round catches up
        self.documents_written += modified
        return modified

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

        async def work(txn: AsyncClientSession) -> Raw | None:
            gone = await self._collection.find_one_and_delete(
                {"_id": oid, "user_id": ObjectId(user_id)}, session=txn
            )
            if gone is not None:
                await self.histories.remove(txn, [gone])
            return gone

        deleted = await in_transaction(self._client, work)
        self.documents_written += deleted is not None
        if deleted is not None:
            self.journal.discard(session_id)
        return deleted is not None

    async def page(
        self,
        user_id: str,
        where: SessionFilter,
        cursor: PageCursor | None,
        limit: int,
        *,
        backward: bool = False,
    ) -> list[FocusSession]:
        query = _match(user_id, where)
        order = ASCENDING if backward else DESCENDING
        if self.pages_from_history:
            found = await self._bounded_page(user_id, query, where, cursor, limit, backward)
            if found is not None:
                return found
        if cursor is not None:
            beyond = "$gt" if backward else "$lt"
            position = {
                "$or": [
                    {"started_at": {beyond: cursor.started_at}},
                    {"started_at": cursor.started_at, "_id": {beyond: ObjectId(cursor.session_id)}},
                ]
            }
            query = {"$and": [query, position]}
        return await self._find_page(query, order, limit)

    async def _bounded_page(
        self,
        user_id: str,
        query: Raw,
        where: SessionFilter,
        cursor: PageCursor | None,
        limit: int,
        backward: bool,
    ) -> list[FocusSession] | None:
        """The page read through the history's bound; None when it cannot tell."""
        order = ASCENDING if backward else DESCENDING
        bound = await self._page_bound(user_id, where, cursor, limit, backward)
        # Ranges only (an `$or` beside them and the embedded database reads every
        # session of the person): the cursor's side inclusive, what is not beyond
        # the cursor dropped here; the far side bounded where the history says
        # the page ends, or open when it says fewer than a page remain.
        started = dict(query.get("started_at", {}))
        if cursor is not None:
            near = cursor.started_at + (-SLACK if backward else SLACK)
            _tighten(started, "$gte" if backward else "$lte", near)
        if bound.started_at is not None:
            far = bound.started_at + (SLACK if backward else -SLACK)
            _tighten(started, "$lte" if backward else "$gte", far)
        asked = limit + bound.ties
        ranged = {**query, "started_at": started} if started else query
        found = await self._find_page(ranged, order, asked)
        rows = [r for r in found if is_beyond((r.timeline.started_at, r.id), cursor, backward)]
        if len(rows) >= limit:
            return rows[:limit]
        if bound.started_at is None and len(found) < asked:
            return rows  # everything beyond the cursor, the range being open
        # The history and the sessions disagree (sessions written around the
        # store): the plain query, whatever it costs.
        return None

    async def _find_page(self, query: Raw, order: int, limit: int) -> list[FocusSession]:
        found = (
            self._collection.find(query).sort([("started_at", order), ("_id", order)]).limit(limit)
        )
        return [self._read(raw) async for raw in found]

    async def _page_bound(
        self,
        user_id: str,
        where: SessionFilter,
        cursor: PageCursor | None,
        limit: int,
        backward: bool,
    ) -> Bound:
        history = await self.history(user_id)
        # One filtering per history read (a new tuple per version) and filter.
        known = self._page_keys.get((user_id, where))
        if known is None or known[0] is not history:
            known = (
                history,
                [(r.started_at, r.session_id) for r in history if record_matches(r, where)],
            )
            self._page_keys[(user_id, where)] = known
            while len(self._page_keys) > PAGE_KEYS_CACHED:
                self._page_keys.popitem(last=False)
        # A running session is left out: the bound is then at most as far as it
        # should be, and a range holding a whole page still holds the page.
        return page_bound(known[1], cursor, limit, backward)

    async def count(self, user_id: str, where: SessionFilter) -> int:
        return await self._collection.count_documents(_match(user_id, where))

    async def silent_since(self, deadline: datetime, limit: int) -> list[FocusSession]:
        cursor = (
            self._collection.find({"running": True, "last_signal_at": {"$lte": deadline}})
            .sort("last_signal_at", ASCENDING)
            .limit(limit)
        )
        return [self._read(raw) async for raw in cursor]

    async def totals(self, user_id: str, tag: str | None = None) -> SessionTotals:
        owned = _owned(user_id, tag)
        total = await self._collection.count_documents(owned)
        ended = {**owned, "running": False}
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
        cursor = self._collection.find(
            {**owned, "status": Status.COMPLETED.value},
            projection={
                "ended_at": 1,
                "elapsed_seconds": 1,
                "active_seconds": 1,
                "target_minutes": 1,
            },
        )
        completed = [
            CompletedSession(
                ended_at=raw["ended_at"],
                elapsed_seconds=raw["elapsed_seconds"],
                active_seconds=raw["active_seconds"],
                target_minutes=raw["target_minutes"],
            )
            async for raw in cursor
        ]
        summary = rows[0] if rows else {"ended": 0, "focus": 0, "scores": 0}
        return SessionTotals(
            total_sessions=total,
            ended_sessions=summary["ended"],
            completed_sessions=len(completed),
            total_focus_seconds=summary["focus"],
            score_sum=summary["scores"],
            last_focus_score=last["focus_score"] if last else None,
            completed=completed,
        )

    async def ended_between(
        self, user_id: str, start: datetime, end: datetime, tag: str | None = None
    ) -> list[EndedSession]:
        # Both ended statuses, so the user_status_ended index serves each as a range.
        cursor = self._collection.find(
            {
                **_owned(user_id, tag),
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

    async def delete_for_user(self, user_id: str) -> list[str]:
        owner = {"user_id": ObjectId(user_id)}
        ids = [str(raw["_id"]) async for raw in self._collection.find(owner, projection={"_id": 1})]
        with pymongo.timeout(BATCH_SECONDS):
            result = await self._collection.delete_many(owner)
        self.documents_written += result.deleted_count
        await self.histories.forget(user_id)
        for session_id in ids:
            self.journal.discard(session_id)
        # Journal documents that named only these sessions go now, not at the
        # next checkpoint; the rest go once their other sessions take them.
        await self.journal.drop_folded(within=10)
        return ids

    async def history(self, user_id: str) -> tuple[EndedRecord, ...]:
        found = await self.histories.version(user_id)
        if found is None or not found[1]:

            async def build(txn: AsyncClientSession) -> None:
                await self.histories.rebuild(txn, user_id, self._collection)

            await in_transaction(self._client, build)
            found = await self.histories.version(user_id)
            assert found is not None
        return await self.histories.records(user_id, found[0])

    async def all_for_user(self, user_id: str) -> AsyncIterator[FocusSession]:
        # The driver fetches the cursor in batches: memory stays flat however
        # many sessions there are.
        cursor = (
            self._collection.find({"user_id": ObjectId(user_id)})
            .sort([("started_at", ASCENDING), ("_id", ASCENDING)])
            .batch_size(500)
        )
        async for raw in cursor:
            yield self._read(raw)

    async def tag_counts(self, user_id: str) -> list[tuple[str, int]]:
        """Each tag the user's sessions carry and on how many, most used first."""
        rows = await (
            await self._collection.aggregate(
                [
                    {"$match": {"user_id": ObjectId(user_id), "tags.0": {"$exists": True}}},
                    {"$project": {"tags": 1}},
                    {"$unwind": "$tags"},
                    {"$group": {"_id": "$tags", "sessions": {"$sum": 1}}},
                ]
            )
        ).to_list()
        # Sorted here: a person has few tags, and the order must not depend on
        # how a database breaks ties.
        return sorted(((r["_id"], r["sessions"]) for r in rows), key=lambda r: (-r[1], r[0]))
