"""The database a benchmark runs on, and its people and running sessions."""

import os
import random
from datetime import UTC, datetime, timedelta
from typing import Any

from bson import ObjectId
from pymongo import AsyncMongoClient
from pymongo.errors import PyMongoError

from focusgql.auth import TokenIssuer, hash_password
from focusgql.domain.session import FocusSession
from focusgql.domain.timeline import start, truncate_to_ms
from focusgql.store.documents import UserDocument
from focusgql.store.mongo import EmbeddedServer, init_database
from focusgql.store.sessions import MongoSessionRepository

IDLE_THRESHOLD = 15
TARGET_MINUTES = 120
ISSUER = AUDIENCE = "focusgql"  # focusgql's defaults for FOCUSGQL_JWT_ISSUER / _AUDIENCE


class Database:
    def __init__(self, uri: str | None) -> None:
        self.embedded: EmbeddedServer | None = None
        if uri is None:
            self.embedded = EmbeddedServer(":memory:")
            self.embedded.start()
            uri = self.embedded.uri
            # It shares the load generator's core: let the generator come first, so
            # a burst of database work (a checkpoint) delays the writes, not the
            # measurement.
            if self.pid is not None:
                os.setpriority(os.PRIO_PROCESS, self.pid, 10)
        self.uri = uri
        # As focusgql's make_client, but dropping pooled connections idle for a
        # minute: SecantusDB closes a client's connection after 300 s of silence,
        # and a long ramp-up leaves ours that quiet.
        self.client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
            uri, tz_aware=True, serverSelectionTimeoutMS=5000, maxIdleTimeMS=60_000
        )

    async def drop(self, name: str) -> None:
        try:
            await self.client.drop_database(name)
        except PyMongoError as error:
            print(f"    warning: could not drop database {name}: {error}", flush=True)

    @property
    def pid(self) -> int | None:
        process = self.embedded._process if self.embedded else None
        return process.pid if process is not None else None

    async def close(self) -> None:
        await self.client.close()
        if self.embedded is not None:
            self.embedded.stop()


_PASSWORD_HASH: list[str] = []


async def seed(db: Database, name: str, n: int, secret: str) -> list[tuple[str, str]]:
    """N users, each with one running session started in the last minute (so ticks
    fall at random points of the second); a token per user. [(token, session id)]"""
    await init_database(db.client, name)
    repo = MongoSessionRepository()
    users = UserDocument.get_pymongo_collection()
    if not _PASSWORD_HASH:
        _PASSWORD_HASH.append(hash_password("bench password, never used"))
    now = truncate_to_ms(datetime.now(UTC))
    issuer = TokenIssuer(secret, ISSUER, AUDIENCE, timedelta(hours=12))
    user_ids = [str(ObjectId()) for _ in range(n)]
    user_docs = [
        {
            "_id": ObjectId(user_id),
            "email": f"bench-{i}-{user_id}@example.com",
            "password_hash": _PASSWORD_HASH[0],
            "display_name": None,
            "timezone": "UTC",
            "created_at": now,
        }
        for i, user_id in enumerate(user_ids)
    ]
    sessions = []
    for user_id in user_ids:
        began = truncate_to_ms(now - timedelta(seconds=random.uniform(1, 60)))
        sessions.append(
            FocusSession(  # what SessionService.create builds at `began`
                id=repo.new_id(),
                user_id=user_id,
                target_minutes=TARGET_MINUTES,
                content_id=None,
                timeline=start(began, IDLE_THRESHOLD),
                last_activity_at=began,
                last_signal_at=began,
            )
        )
    for first in range(0, n, 1000):
        await users.insert_many(user_docs[first : first + 1000], ordered=False)
    await repo.add_running(sessions)
    return [(issuer.issue(s.user_id, now), s.id) for s in sessions]
