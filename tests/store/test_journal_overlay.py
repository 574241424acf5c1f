"""The overlay's bookkeeping when other processes' journal documents go away
(forget_doc, driven by the journal's change stream), against a brute-force
oracle: whatever the order documents are added, settled and forgotten in, each
session keeps exactly the entries of documents not forgotten, in arrival order."""

from datetime import UTC, datetime, timedelta
from typing import cast

from hypothesis import given, settings
from hypothesis import strategies as st
from pymongo.asynchronous.collection import AsyncCollection

from focusgql.store.journal import Entry, SignalJournal
from focusgql.store.sessions import Raw

T0 = datetime(2026, 5, 1, 8, 0, tzinfo=UTC)
SESSIONS = ["s0", "s1", "s2", "s3"]

# A document: the sessions it names (a session twice = two entries in one
# commit, which the committer does not make, but the overlay must not assume).
documents = st.lists(
    st.lists(st.sampled_from(SESSIONS), min_size=1, max_size=5), min_size=1, max_size=12
)


@settings(max_examples=200, deadline=None)
@given(docs=documents, data=st.data())
def test_forgetting_documents_keeps_exactly_the_others(
    docs: list[list[str]], data: st.DataObject
) -> None:
    # add and forget_doc touch only the in-memory overlay, never the collection.
    journal = SignalJournal(cast(AsyncCollection[Raw], None), proc="me")
    arrived: list[tuple[str, Entry]] = []
    for seq, names in enumerate(docs):
        raw: Raw = {
            "_id": f"other.{seq}",
            "p": "other",
            "q": seq,
            "at": T0 + timedelta(seconds=seq),
            "e": [[name, 1, i % 2] for i, name in enumerate(names)],
        }
        arrived.extend(journal.add(raw))
    order = data.draw(st.permutations(range(len(docs))))
    forgotten: set[str] = set()
    for seq in order[: data.draw(st.integers(0, len(docs)))]:
        journal.forget_doc(f"other.{seq}")
        forgotten.add(f"other.{seq}")
        for session_id in SESSIONS:
            want = [e for s, e in arrived if s == session_id and e.doc_id not in forgotten]
            assert journal._by_session.get(session_id, []) == want
            assert journal.has_entries(session_id) == bool(want)
    assert set(journal._open_docs) == {f"other.{i}" for i in range(len(docs))} - forgotten
