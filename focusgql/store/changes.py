"""Follow the sessions collection's change stream, so that several processes
on one database serve the same live sessions.

A mutation handled by another process reaches this one's watchers within a
tick. Only sessions this process cares about are looked at; updates that do
not bump the version (checkpoints, keep-alive signals) are skipped, and a
change already known here (this process made it) costs no read.
"""

import asyncio
import logging
from collections.abc import Awaitable, Callable
from time import monotonic
from typing import Any

from pymongo.asynchronous.change_stream import AsyncChangeStream
from pymongo.errors import PyMongoError

from focusgql.domain.session import FocusSession
from focusgql.faults import Retries
from focusgql.store.failures import translated
from focusgql.store.journal import Entry, SignalJournal, apply_entries
from focusgql.store.sessions import MongoSessionRepository

log = logging.getLogger(__name__)

# Updates that do not bump the version (checkpoints, keep-alives: most writes
# while sessions tick) are filtered out by the server, never sent here.
PIPELINE: list[dict[str, Any]] = [
    {
        "$match": {
            "$or": [
                # Inserts for mySession: a person followed here may have
                # started a session elsewhere. One per session started.
                {"operationType": {"$in": ["insert", "replace", "delete"]}},
                {
                    "operationType": "update",
                    "updateDescription.updatedFields.version": {"$exists": True},
                },
            ]
        }
    },
    # Only what handle() reads: a fold updates every active session's document
    # (hundreds a second at thousands of people), and every process decodes
    # each event, watched or not.
    {
        "$project": {
            "_id": 1,
            "operationType": 1,
            "documentKey": 1,
            "updateDescription.updatedFields.version": 1,
            "fullDocument.user_id": 1,
        }
    },
]


JOURNAL_POLL_SECONDS = 0.1
"""Least time between two round trips on the journal's (and the sessions')
change stream. Other processes append up to 22 times a second (one per commit
window) and fold hundreds of documents a second; asking for each on its own
cost a process serving no one most of its CPU. A change made elsewhere still
reaches this process's watchers well within a tick."""
BUFFERED_SECONDS = 0.002
"""A change returned faster than this came from the batch already received."""


async def next_change(stream: AsyncChangeStream[dict[str, Any]]) -> dict[str, Any]:
    """`stream.next()`, with the client's deadline (FOCUSGQL_DATABASE_TIMEOUT_MS)
    on each round trip rather than on the whole wait for a change: `next()`
    keeps asking within one deadline, so a quiet minute would read as a
    stalled database. Each getMore returns empty after the server's await
    time (a second), well within the deadline."""
    while stream.alive:
        change = await stream.try_next()
        if change is not None:
            return change
    raise PyMongoError("the change stream closed")


class ChangeFeed:
    def __init__(
        self,
        repo: MongoSessionRepository,
        known: Callable[[str], FocusSession | None],
        observe: Callable[[FocusSession], None],
        deleted: Callable[[str], None],
        known_ids: Callable[[], list[str]],
        retry_seconds: float = 1.0,
        poll_seconds: float = JOURNAL_POLL_SECONDS,
        started: Callable[[str, str], None] | None = None,
        reopened: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self.repo = repo
        self.started = started
        """Told (user id, session id) of every session inserted, by any process."""
        self.reopened = reopened
        """Run after `resync` when the stream reopens (a start may be missed)."""
        self.poll_seconds = poll_seconds
        self.known = known
        self.observe = observe
        self.deleted = deleted
        self.known_ids = known_ids
        self.retry_seconds = retry_seconds
        self.ready = asyncio.Event()
        """Set once the stream is open: changes from then on are seen."""

    async def run(self) -> None:
        resume_token: Any = None
        retries = Retries("change stream", log, writes=False)
        opened_before = False
        while True:
            try:
                async with await self.repo.watch(PIPELINE, resume_after=resume_token) as stream:
                    if opened_before:
                        # Reopened: whatever happened while closed is read afresh.
                        await self.resync()
                    opened_before = True
                    self.ready.set()
                    while True:
                        asked = monotonic()
                        change = await next_change(stream)
                        await self.handle(change)
                        retries.succeeded()
                        # Only past a change once it is handled: a failure replays it.
                        resume_token = stream.resume_token
                        if monotonic() - asked > BUFFERED_SECONDS:
                            # As for the journal: a fold updates hundreds of
                            # documents a second at thousands of people, and a
                            # round trip for each few was most of what a process
                            # serving none of them did (py-spy, --py-spy-second).
                            await asyncio.sleep(self.poll_seconds)
            except PyMongoError as error:
                retries.failed(translated(error))
                if "resume" in str(error).lower():
                    resume_token = None  # too old to resume: start afresh (resync covers it)
                await asyncio.sleep(self.retry_seconds)
            except Exception as error:
                # A document this process cannot read must not stop the feed.
                retries.failed(error)
                await asyncio.sleep(self.retry_seconds)

    async def resync(self) -> None:
        for session_id in self.known_ids():
            fresh = await self.repo.get(session_id)
            if fresh is None:
                self.deleted(session_id)
            else:
                self.observe(fresh)
        if self.reopened is not None:
            await self.reopened()

    async def handle(self, change: dict[str, Any]) -> None:
        session_id = str(change["documentKey"]["_id"])
        if change["operationType"] == "insert":
            if self.started is not None:
                self.started(str(change["fullDocument"]["user_id"]), session_id)
            return
        known = self.known(session_id)
        if known is None:
            return
        if change["operationType"] == "delete":
            self.deleted(session_id)
            return
        fields = change.get("updateDescription", {}).get("updatedFields", {})
        version = fields.get("version")
        if change["operationType"] == "update" and (version is None or version <= known.version):
            return
        fresh = await self.repo.get(session_id)
        if fresh is not None:
            self.observe(fresh)


class JournalFeed:
    """Follow the signal journal's change stream: other processes' activity and
    tab switches reach this one's overlay (so reads here include them) and its
    watchers, within a tick. One event per commit window, whatever the number
    of people; entries for sessions not watched here cost a dict insert."""

    def __init__(
        self,
        journal: SignalJournal,
        known: Callable[[str], FocusSession | None],
        observe: Callable[[FocusSession], None],
        retry_seconds: float = 1.0,
        poll_seconds: float = JOURNAL_POLL_SECONDS,
    ) -> None:
        self.journal = journal
        self.poll_seconds = poll_seconds
        self.known = known
        self.observe = observe
        self.retry_seconds = retry_seconds
        self.ready = asyncio.Event()
        self.events = 0

    async def run(self) -> None:
        retries = Retries("journal change stream", log, writes=False)
        while True:
            try:
                async with await self.journal.watch(journal_pipeline(self.journal.proc)) as stream:
                    # Whatever was appended while closed (or before this started).
                    await self.journal.load()
                    self.ready.set()
                    while True:
                        asked = monotonic()
                        change = await next_change(stream)
                        self.handle(change)
                        retries.succeeded()
                        if monotonic() - asked > BUFFERED_SECONDS:
                            # It took a round trip: let the next ones gather in
                            # the database, to come together in one.
                            await asyncio.sleep(self.poll_seconds)
            except Exception as error:  # the database's, or a document we cannot read
                retries.failed(translated(error))
                await asyncio.sleep(self.retry_seconds)

    def handle(self, change: dict[str, Any]) -> None:
        self.events += 1
        if change["operationType"] == "delete":
            self.journal.forget_doc(str(change["documentKey"]["_id"]))
            return
        raw = change["fullDocument"]
        if raw.get("p") == self.journal.proc:
            return  # this process's own append (the pipeline leaves them out)
        by_session: dict[str, list[Entry]] = {}
        for session_id, entry in self.journal.add(raw):
            if self.known(session_id) is not None:
                by_session.setdefault(session_id, []).append(entry)
        for session_id, entries in by_session.items():
            known = self.known(session_id)
            if known is not None:
                changed = apply_entries(known, entries)
                if changed is not known:
                    self.observe(changed)


def journal_pipeline(proc: str) -> list[dict[str, Any]]:
    """Other processes' appends, and every deletion. A process's own appends are
    in its overlay once acknowledged: the database does not send them back,
    which at thousands of people spares the writer a round trip and the
    decoding of every entry it wrote, 22 times a second."""
    return [
        {
            "$match": {
                "$or": [
                    {"operationType": "delete"},
                    {"operationType": "insert", "fullDocument.p": {"$ne": proc}},
                ]
            }
        }
    ]
