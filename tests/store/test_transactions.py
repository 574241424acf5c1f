"""Transactions on the real database: conflicting read-modify-writes are retried, none lost."""

import asyncio
import uuid

import pytest
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.errors import OperationFailure

from focusgql.domain.errors import Conflict
from focusgql.store.documents import SessionDocument
from focusgql.store.transactions import ATTEMPTS, in_transaction


async def test_concurrent_read_modify_writes_lose_nothing(bound_database: None) -> None:
    collection = SessionDocument.get_pymongo_collection().database[f"txn_{uuid.uuid4().hex[:8]}"]
    client = collection.database.client
    await collection.insert_one({"_id": "counter", "n": 0})

    async def bump(txn: AsyncClientSession) -> None:
        found = await collection.find_one({"_id": "counter"}, session=txn)
        assert found is not None
        await asyncio.sleep(0.01)  # let the others read the same value
        await collection.update_one(
            {"_id": "counter"}, {"$set": {"n": found["n"] + 1}}, session=txn
        )

    try:
        await asyncio.gather(*(in_transaction(client, bump) for _ in range(8)))
        stored = await collection.find_one({"_id": "counter"})
        assert stored is not None and stored["n"] == 8
    finally:
        await collection.drop()


async def test_a_conflict_that_never_clears_answers_conflict(bound_database: None) -> None:
    client = SessionDocument.get_pymongo_collection().database.client
    attempts = 0

    async def always_conflicts(txn: AsyncClientSession) -> None:
        nonlocal attempts
        attempts += 1
        raise OperationFailure(
            "write conflict", 112, {"errorLabels": ["TransientTransactionError"]}
        )

    with pytest.raises(Conflict):
        await in_transaction(client, always_conflicts)
    assert attempts == ATTEMPTS


async def test_other_failures_are_not_retried(bound_database: None) -> None:
    client = SessionDocument.get_pymongo_collection().database.client
    attempts = 0

    async def fails(txn: AsyncClientSession) -> None:
        nonlocal attempts
        attempts += 1
        raise OperationFailure("bad", 2)

    with pytest.raises(OperationFailure):
        await in_transaction(client, fails)
    assert attempts == 1
