"""Idempotency keys in MongoDB: one document per person and key (a unique
index makes taking a key race-free), removed by a TTL index after 24 hours.

An answer is kept as the session it showed and the instant it was computed
at, with every instant as ISO text to the microsecond (BSON dates keep
milliseconds), so a retry's counters are computed from exactly what the
first answer's were.
"""

from datetime import datetime
from typing import Any

from bson import ObjectId
from pymongo import ReturnDocument
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from focusgql.domain.session import FocusSession
from focusgql.services.frames import Frame
from focusgql.services.records import Answer, KeyedRequest
from focusgql.store.documents import IdempotencyKeyDocument
from focusgql.store.failures import domain_errors
from focusgql.store.sessions import to_domain, to_fields

Raw = dict[str, Any]

_INSTANTS = ("started_at", "paused_at", "ended_at", "last_activity_at", "last_signal_at")


def encode_answer(answer: Answer) -> Raw:
    if isinstance(answer, str):
        return {"id": answer}
    session, as_of = answer.session, answer.snapshot.at
    fields = {
        name: value
        for name, value in to_fields(session, as_of).items()
        if name not in ("counted_at", "elapsed_seconds", "active_seconds", "idle_seconds")
    }
    for name in _INSTANTS:
        if fields[name] is not None:
            fields[name] = fields[name].isoformat()
    return {
        "session": {
            **fields,
            "_id": session.id,
            "user_id": session.user_id,
            "version": session.version,
        },
        "as_of": as_of.isoformat(),
    }


def decode_answer(raw: Raw) -> Answer:
    if "id" in raw:
        return str(raw["id"])
    fields = dict(raw["session"])
    for name in _INSTANTS:
        if fields[name] is not None:
            fields[name] = datetime.fromisoformat(fields[name])
    session: FocusSession = to_domain(fields)
    return Frame.at(session, datetime.fromisoformat(raw["as_of"]))


@domain_errors
class MongoIdempotencyStore:
    def __init__(self, collection: AsyncCollection[Raw] | None = None) -> None:
        self.collection: AsyncCollection[Raw] = (
            collection
            if collection is not None
            else IdempotencyKeyDocument.get_pymongo_collection()
        )

    async def claim(
        self,
        user_id: str,
        key: str,
        fingerprint: str,
        now: datetime,
        expired_before: datetime,
        abandoned_before: datetime,
    ) -> KeyedRequest | None:
        owner = {"user_id": ObjectId(user_id), "key": key}
        fresh = {**owner, "fingerprint": fingerprint, "created_at": now, "answer": None}
        for _ in range(3):
            try:
                await self.collection.insert_one(dict(fresh))
                return None
            except DuplicateKeyError:
                pass
            # Taken: by an earlier request, unless that one expired or was
            # abandoned, when this request takes the key over (atomically, so
            # of two retries racing for it one wins).
            taken_over = await self.collection.find_one_and_update(
                {
                    **owner,
                    "$or": [
                        {"created_at": {"$lt": expired_before}},
                        {"answer": None, "created_at": {"$lt": abandoned_before}},
                    ],
                },
                {"$set": fresh},
                return_document=ReturnDocument.AFTER,
            )
            if taken_over is not None:
                return None
            raw = await self.collection.find_one(owner)
            if raw is not None:
                answer = raw.get("answer")
                return KeyedRequest(
                    fingerprint=raw["fingerprint"],
                    answer=None if answer is None else decode_answer(answer),
                )
            # Removed meanwhile (the TTL monitor, a release): try again.
        raise RuntimeError("an idempotency key kept changing while being claimed")

    async def complete(self, user_id: str, key: str, answer: Answer) -> None:
        await self.collection.update_one(
            {"user_id": ObjectId(user_id), "key": key},
            {"$set": {"answer": encode_answer(answer)}},
        )

    async def release(self, user_id: str, key: str) -> None:
        await self.collection.delete_one({"user_id": ObjectId(user_id), "key": key, "answer": None})

    async def delete_for_user(self, user_id: str) -> int:
        result = await self.collection.delete_many({"user_id": ObjectId(user_id)})
        return result.deleted_count
