"""Each person's history of ended sessions (domain/history.py), kept exact beside them.

Why it exists: a database answers a figure over a long history by reading
every session in it, and the embedded one (SecantusDB) decodes each
candidate document in Python whatever the index, so 5,000 sessions cost a
third of a second per read. The history keeps one record per ended session
in a few documents per person, one per UTC month the sessions ended in, each
holding its records as one opaque BSON blob: a year is a dozen documents the
server never looks inside.

Exact, not eventually right: every write that ends, retags or deletes a
session changes its record in the same transaction as the session document
(store/sessions.py), and bumps the person's version in their header document.
A person stored before the history existed has theirs built from their
sessions on first read, in a transaction that writes the header too, so it
and any concurrent end conflict and one is retried. Records keep instants,
not local days: a change of timezone changes nothing here.

Documents, all in one collection (`<sessions>.history`), ordered by `_id`:
the header `"<user id>"` {version, built}, then the months
`"<user id>/<YYYY-MM>"` {records}. A read takes the header and, unless this
process holds that version already, the months.
"""

from collections import OrderedDict, defaultdict
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

import bson
from bson import Binary, ObjectId
from pymongo import DeleteOne
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.collection import AsyncCollection

from focusgql.domain.history import EndedRecord
from focusgql.domain.timeline import Status

Raw = dict[str, Any]

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
ONE_MS = timedelta(milliseconds=1)
CACHED_PEOPLE = 64
"""People whose decoded history a process keeps (about 1 MB per 5,000 records)."""
RECORD_FIELDS = {
    "user_id": 1,
    "running": 1,
    "status": 1,
    "started_at": 1,
    "ended_at": 1,
    "elapsed_seconds": 1,
    "active_seconds": 1,
    "focus_score": 1,
    "target_minutes": 1,
    "tags": 1,
}
"""What a record is made of: a projection for reading sessions to build histories."""


def _ms(t: datetime) -> int:
    return (t - EPOCH) // ONE_MS


def _row(raw: Raw) -> list[Any]:
    """A stored ended session as its record's row (instants in milliseconds,
    which is all the database keeps of them)."""
    return [
        str(raw["_id"]),
        _ms(raw["started_at"]),
        _ms(raw["ended_at"]),
        raw["status"] == Status.COMPLETED.value,
        raw["elapsed_seconds"],
        raw["active_seconds"],
        raw["focus_score"],
        raw["target_minutes"],
        list(raw.get("tags", ())),
    ]


def _record(row: list[Any]) -> EndedRecord:
    sid, started, ended, completed, elapsed, active, score, target, tags = row
    return EndedRecord(
        sid,
        EPOCH + started * ONE_MS,
        EPOCH + ended * ONE_MS,
        completed,
        elapsed,
        active,
        score,
        target,
        tuple(tags),
    )


def _encode(rows: Iterable[list[Any]]) -> Binary:
    return Binary(bson.encode({"r": list(rows)}))


def _decode(blob: bytes) -> list[list[Any]]:
    rows: list[list[Any]] = bson.decode(blob)["r"]
    return rows


def is_recorded(raw: Raw) -> bool:
    """Whether a stored session has a record: it has ended."""
    return not raw["running"]


class HistoryStore:
    def __init__(self, collection: AsyncCollection[Raw]) -> None:
        self._collection = collection
        self._cache: OrderedDict[str, tuple[int, tuple[EndedRecord, ...]]] = OrderedDict()

    @staticmethod
    def _month_id(user_id: str, ended_at: datetime) -> str:
        return f"{user_id}/{ended_at.astimezone(UTC):%Y-%m}"

    @staticmethod
    def _months(user_id: str) -> Raw:
        # "/" sorts just before "0": the range holds exactly this person's months.
        return {"_id": {"$gt": f"{user_id}/", "$lt": f"{user_id}0"}}

    # -- writing, inside the transaction of the session's own write ---------------

    async def put(self, session: AsyncClientSession, raws: list[Raw]) -> None:
        """Set the records of these stored ended sessions (all one person's)."""
        await self._change(session, raws, remove=False)

    async def remove(self, session: AsyncClientSession, raws: list[Raw]) -> None:
        """Drop the records of these deleted sessions (all one person's)."""
        await self._change(session, raws, remove=True)

    async def _change(self, session: AsyncClientSession, raws: list[Raw], remove: bool) -> None:
        raws = [raw for raw in raws if is_recorded(raw)]
        if not raws:
            return
        user_id = str(raws[0]["user_id"])
        by_month: dict[str, list[Raw]] = defaultdict(list)
        for raw in raws:
            by_month[self._month_id(user_id, raw["ended_at"])].append(raw)
        for month_id, changed in by_month.items():
            found = await self._collection.find_one({"_id": month_id}, session=session)
            rows = {row[0]: row for row in _decode(found["records"])} if found else {}
            for raw in changed:
                if remove:
                    rows.pop(str(raw["_id"]), None)
                else:
                    rows[str(raw["_id"])] = _row(raw)
            await self._collection.replace_one(
                {"_id": month_id}, {"records": _encode(rows.values())}, upsert=True, session=session
            )
        # Every change of a person's history writes their header: two at once
        # conflict there, whichever months they touch, and one is retried.
        await self._collection.update_one(
            {"_id": user_id}, {"$inc": {"version": 1}}, upsert=True, session=session
        )

    async def rebuild(
        self, session: AsyncClientSession, user_id: str, sessions: AsyncCollection[Raw]
    ) -> None:
        """Build the person's history from their stored sessions."""
        by_month: dict[str, list[list[Any]]] = defaultdict(list)
        # By owner alone, the running one (at most one) skipped here: SecantusDB
        # plans `running: False` beside it as a collection scan.
        async for raw in sessions.find(
            {"user_id": ObjectId(user_id)}, projection=RECORD_FIELDS, session=session
        ):
            if is_recorded(raw):
                by_month[self._month_id(user_id, raw["ended_at"])].append(_row(raw))
        await self._collection.delete_many(self._months(user_id), session=session)
        if by_month:
            await self._collection.insert_many(
                [{"_id": m, "records": _encode(rows)} for m, rows in by_month.items()],
                session=session,
            )
        await self._collection.update_one(
            {"_id": user_id},
            {"$inc": {"version": 1}, "$set": {"built": True}},
            upsert=True,
            session=session,
        )

    async def forget(self, user_id: str) -> None:
        """Remove the person's history (their sessions are gone)."""
        self._cache.pop(user_id, None)
        months = [
            raw["_id"] async for raw in self._collection.find(self._months(user_id), {"_id": 1})
        ]
        # One at a time: a multi-document delete would hold SecantusDB's write
        # lock on the collection through its retries (store/sessions.py
        # refresh_counters says why that stalls every end).
        await self._collection.bulk_write(
            [DeleteOne({"_id": m}) for m in [*months, user_id]], ordered=False
        )

    # -- reading -------------------------------------------------------------------

    async def version(self, user_id: str) -> tuple[int, bool] | None:
        """The person's history version and whether it was built; None if never written."""
        header = await self._collection.find_one({"_id": user_id})
        return None if header is None else (header["version"], bool(header.get("built")))

    async def records(self, user_id: str, version: int) -> tuple[EndedRecord, ...]:
        """The person's records as of `version`, read from the header just before."""
        cached = self._cache.get(user_id)
        if cached is not None and cached[0] == version:
            self._cache.move_to_end(user_id)
            return cached[1]
        months = [month["records"] async for month in self._collection.find(self._months(user_id))]
        records = tuple(_record(row) for blob in months for row in _decode(blob))
        # Months read after the header are at least that version: cached under
        # it, they are never older than what a later read with it expects.
        self._cache[user_id] = (version, records)
        self._cache.move_to_end(user_id)
        while len(self._cache) > CACHED_PEOPLE:
            self._cache.popitem(last=False)
        return records
