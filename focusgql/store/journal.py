"""The signal journal: every commit window's signals as one appended document.

Activity arrives about once a second per person. Storing each signal as an
update of its session document costs the embedded database close to a
millisecond per person (SecantusDB applies every document update in Python);
appending one document that lists everyone's signals of a window costs about
as much as a single update, whatever the number of people. So a commit window
is one insert here, and session documents take their signals later, in bulk
(a fold, see SignalCommitter.fold), at the checkpoint interval.

Until folded, a signal lives in two places: the journal document (durable:
the caller was answered only once it was stored) and, in memory, the overlay
of every process that has seen it (its own appends, and other processes'
through the journal's change stream). Every read of a session applies the
overlay's entries it does not yet include, so readers see the same counters
as if each signal had been written to the session at once.

Which entries a session document includes is recorded in the document itself
(`signal_marks`: for each writing process, the last of its commits applied),
in the same atomic write as the state, so a fold repeated after a crash, or
done by two processes at once, applies nothing twice. A journal document is
deleted once every session it names includes it, has ended or is gone.
"""

import secrets
from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime
from typing import Any, NamedTuple

import pymongo
from pymongo.asynchronous.change_stream import AsyncCollectionChangeStream
from pymongo.asynchronous.collection import AsyncCollection

from focusgql.domain.session import FocusSession
from focusgql.services.records import SignalEntry

Raw = dict[str, Any]
Marks = dict[str, int]


class Entry(NamedTuple):
    """One session's signals in one commit. A tuple, not a dataclass: every
    process builds one per person per second for the overlay, and tuples
    sort in time order as they are."""

    at: datetime
    proc: str
    seq: int
    doc_id: str
    activity: bool
    tab_switches: int


def included(session: FocusSession, entry: Entry) -> bool:
    return entry.seq <= dict(session.journal_marks).get(entry.proc, -1)


def apply_entries(session: FocusSession, entries: Iterable[Entry]) -> FocusSession:
    """`session` with the entries it does not include yet applied, in time order."""
    marks = dict(session.journal_marks)
    fresh = sorted(e for e in entries if e.seq > marks.get(e.proc, -1))
    if not fresh:
        return session
    for entry in fresh:
        session = session.with_signals(entry.at, entry.activity, entry.tab_switches)
        marks[entry.proc] = max(marks.get(entry.proc, -1), entry.seq)
    return replace(session, journal_marks=tuple(sorted(marks.items())))


class SignalJournal:
    def __init__(self, collection: AsyncCollection[Raw], proc: str | None = None) -> None:
        self.collection = collection
        self.proc = proc or secrets.token_hex(6)
        """This process's name in the journal: fresh at every start, so its
        sequence numbers never collide with an earlier run's."""
        self._seq = 0
        self._by_session: dict[str, list[Entry]] = {}
        self._open_docs: dict[str, set[str]] = {}
        """Journal documents known here -> the sessions that do not include them yet."""

    async def watch(self, pipeline: list[Raw]) -> AsyncCollectionChangeStream[Raw]:
        """The journal's change stream (store/changes.py), open."""
        return await self.collection.watch(pipeline)

    # -- writing -------------------------------------------------------------------

    async def append(
        self, at: datetime, entries: list[SignalEntry], within: float
    ) -> tuple[str, int]:
        """Store one commit's signals; the (process, sequence) mark they carry."""
        seq = self._seq
        self._seq += 1
        raw: Raw = {
            "_id": f"{self.proc}.{seq}",
            "p": self.proc,
            "q": seq,
            "at": at,
            "e": [[e.session_id, int(e.activity), e.tab_switches] for e in entries],
        }
        with pymongo.timeout(within):
            await self.collection.insert_one(raw)
        self.add(raw)
        return self.proc, seq

    # -- the overlay ---------------------------------------------------------------

    def add(self, raw: Raw) -> list[tuple[str, Entry]]:
        """Take a journal document into the overlay; its entries by session
        (none if it was known already)."""
        doc_id = str(raw["_id"])
        if doc_id in self._open_docs:
            return []
        proc, seq, at = str(raw["p"]), int(raw["q"]), raw["at"]
        added: list[tuple[str, Entry]] = []
        for session_id, activity, tab_switches in raw["e"]:
            entry = Entry(at, proc, seq, doc_id, bool(activity), int(tab_switches))
            self._by_session.setdefault(session_id, []).append(entry)
            added.append((session_id, entry))
        self._open_docs[doc_id] = {session_id for session_id, _ in added}
        return added

    def forget_doc(self, doc_id: str) -> None:
        """A journal document was deleted (its sessions include it)."""
        sessions = self._open_docs.pop(doc_id, None)
        for session_id in sessions or ():
            entries = self._by_session.get(session_id)
            if entries and entries[0].doc_id == doc_id:
                # Usually the oldest: documents go in the order they came, and
                # a document's entries for a session sit together (add appends
                # them in one go; _keep keeps the order). At thousands of
                # people a process serving none of them drops ~90 sessions'
                # entries 22 times a second: a rescan of each list was most of
                # what such a process did.
                cut = 1
                while cut < len(entries) and entries[cut].doc_id == doc_id:
                    cut += 1
                if cut == len(entries):
                    del self._by_session[session_id]
                else:
                    del entries[:cut]
            else:
                self._keep(session_id, lambda e: e.doc_id != doc_id)

    def merge(self, session: FocusSession) -> FocusSession:
        """A session as read from its document, with the overlay applied. Entries
        the document already includes are let go."""
        entries = self._by_session.get(session.id)
        if not entries:
            return session
        self.settle(session)
        return apply_entries(session, self._by_session.get(session.id, ()))

    def settle(self, stored: FocusSession) -> None:
        """`stored` is what the session's document now holds: entries it
        includes (all of them, once it has ended) are folded."""
        if stored.status.is_running:
            self._keep(stored.id, lambda e: not included(stored, e))
        else:
            self._keep(stored.id, lambda e: False)

    def discard(self, session_id: str) -> None:
        """The session is gone: its entries have nowhere to go."""
        self._keep(session_id, lambda e: False)

    def _keep(self, session_id: str, keep: Any) -> None:
        entries = self._by_session.get(session_id)
        if entries is None:
            return
        kept = [e for e in entries if keep(e)]
        for gone in {e.doc_id for e in entries} - {e.doc_id for e in kept}:
            waiting = self._open_docs.get(gone)
            if waiting is not None:
                waiting.discard(session_id)
        if kept:
            self._by_session[session_id] = kept
        else:
            del self._by_session[session_id]

    @property
    def sessions(self) -> int:
        return len(self._by_session)

    def has_entries(self, session_id: str) -> bool:
        return bool(self._by_session.get(session_id))

    def unfolded(self, foreign_before: datetime) -> list[str]:
        """Sessions with entries to fold here: any of this process's, and other
        processes' older than `foreign_before` (their writer may be gone)."""
        return [
            session_id
            for session_id, entries in self._by_session.items()
            if any(e.proc == self.proc or e.at < foreign_before for e in entries)
        ]

    # -- clearing ------------------------------------------------------------------

    async def drop_folded(self, within: float) -> int:
        """Delete the journal documents every session includes; how many."""
        done = [doc_id for doc_id, waiting in self._open_docs.items() if not waiting]
        for start in range(0, len(done), 100):
            chunk = done[start : start + 100]
            with pymongo.timeout(within):
                await self.collection.delete_many({"_id": {"$in": chunk}})
            for doc_id in chunk:
                self._open_docs.pop(doc_id, None)
        return len(done)

    async def load(self) -> int:
        """Read every journal document into the overlay (at start, and when the
        change stream reopens); how many there were."""
        count = 0
        async for raw in self.collection.find({}).sort([("at", pymongo.ASCENDING)]):
            self.add(raw)
            count += 1
        return count
