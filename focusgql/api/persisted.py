"""Persisted operations: Apollo's automatic persisted queries (APQ) and trusted documents.

APQ (github.com/apollographql/apollo-link-persisted-queries, protocol v1): a
request names its document by `extensions.persistedQuery.sha256Hash` (hex
SHA-256 of the text). Sent without the text, a hash the server has not seen is
answered with `PERSISTED_QUERY_NOT_FOUND`, and the client repeats the request
with the text, which the server checks against the hash and remembers
(bounded, least recently used out, per process). Queries can then go as GET
with a short, stable URL that a CDN can cache.

Trusted documents (`FOCUSGQL_TRUSTED_DOCUMENTS`): a manifest, read at
startup, lists every document that may run, either in Apollo's persisted-query
manifest format (`{"format": "apollo-persisted-query-manifest", "version": 1,
"operations": [{"id", "body", ...}]}`) or as Relay's id map (`{"<id>":
"<text>"}`). A request names one by its APQ hash or its id (`documentId`,
Relay's `doc_id`, or `id`), or sends a listed text; anything else is refused
with `PERSISTED_QUERY_NOT_IN_LIST`, and nothing is learned at run time.

No Python library for either fits Strawberry's views (Apollo's own code is
JavaScript), so this is the protocol written down: a dictionary and hashlib.
A resolved text is what Strawberry then runs, and its parse and validation
come from DocumentCache (focusgql/api/transport.py), so a persisted document
is parsed and validated once, not on every run.
"""

import hashlib
import json
from collections import OrderedDict
from collections.abc import Mapping
from pathlib import Path

from graphql import GraphQLFormattedError

APQ_SIZE = 1000
"""Documents remembered by their hash (each at most a request body long)."""

ID_KEYS = ("documentId", "doc_id", "id")


class PersistedQueryError(Exception):
    """A persisted-operation request that cannot run; `code` goes to the client."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    def formatted(self) -> GraphQLFormattedError:
        return {"message": self.message, "extensions": {"code": self.code}}

    def response(self) -> dict[str, object]:
        return {"errors": [self.formatted()]}


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def load_manifest(path: Path) -> dict[str, str]:
    """id -> document text, from an Apollo manifest or a Relay id map.

    A document is also listed under its SHA-256, so APQ hashes name it too."""
    data = json.loads(path.read_text())
    documents: dict[str, str] = {}
    if isinstance(data, dict) and data.get("format") == "apollo-persisted-query-manifest":
        if data.get("version") != 1:
            raise ValueError(f"{path}: unsupported manifest version {data.get('version')!r}")
        for operation in data.get("operations", []):
            identifier, body = operation.get("id"), operation.get("body")
            if not isinstance(identifier, str) or not isinstance(body, str):
                raise ValueError(f"{path}: every operation needs a string id and body")
            documents[identifier] = body
    elif isinstance(data, dict) and all(
        isinstance(key, str) and isinstance(value, str) for key, value in data.items()
    ):
        documents.update(data)
    else:
        raise ValueError(f"{path}: neither an Apollo persisted-query manifest nor a Relay id map")
    for body in list(documents.values()):
        documents.setdefault(sha256(body), body)
    return documents


class PersistedDocuments:
    """Turns a request's document reference into the text to run."""

    def __init__(self, trusted: Mapping[str, str] | None = None, size: int = APQ_SIZE) -> None:
        self.trusted = dict(trusted) if trusted is not None else None
        self._listed_texts = frozenset(self.trusted.values()) if self.trusted else frozenset()
        self._known: OrderedDict[str, str] = OrderedDict()
        self._size = size

    def resolve(self, request: Mapping[str, object]) -> str | None:
        """The document text for a request body (`query`, `extensions`, an id
        key); the given `query` when nothing is persisted and nothing is trusted."""
        query = request.get("query")
        query = query if isinstance(query, str) and query else None
        extensions = request.get("extensions")
        if self.trusted is None and not extensions:
            return query  # nothing persisted asked for: every signal over a socket
        wanted = _apq_hash(extensions)
        identifier = next(
            (value for key in ID_KEYS if isinstance(value := request.get(key), str) and value),
            None,
        )
        if self.trusted is not None:
            return self._trusted(query, wanted, identifier)
        if wanted is None:
            return query
        if query is not None:
            if sha256(query) != wanted:
                raise PersistedQueryError("BAD_USER_INPUT", "provided sha does not match query")
            self._remember(wanted, query)
            return query
        known = self._known.get(wanted)
        if known is None:
            raise PersistedQueryError("PERSISTED_QUERY_NOT_FOUND", "PersistedQueryNotFound")
        self._known.move_to_end(wanted)
        return known

    def _trusted(self, query: str | None, wanted: str | None, identifier: str | None) -> str:
        assert self.trusted is not None
        for key in (wanted, identifier):
            if key is not None and key in self.trusted:
                return self.trusted[key]
        if query is not None and query in self._listed_texts:
            return query
        if query is None and wanted is not None:
            # Apollo's link then sends the text, which is refused below if unlisted.
            raise PersistedQueryError("PERSISTED_QUERY_NOT_FOUND", "PersistedQueryNotFound")
        raise PersistedQueryError(
            "PERSISTED_QUERY_NOT_IN_LIST", "only the server's trusted documents may run"
        )

    def _remember(self, digest: str, query: str) -> None:
        self._known[digest] = query
        self._known.move_to_end(digest)
        if len(self._known) > self._size:
            self._known.popitem(last=False)


def _apq_hash(extensions: object) -> str | None:
    if not isinstance(extensions, Mapping):
        return None
    persisted = extensions.get("persistedQuery")
    if persisted is None:
        return None
    if not isinstance(persisted, Mapping) or persisted.get("version") != 1:
        raise PersistedQueryError("BAD_USER_INPUT", "persistedQuery: only version 1 is supported")
    digest = persisted.get("sha256Hash")
    if not isinstance(digest, str) or not digest:
        raise PersistedQueryError("BAD_USER_INPUT", "persistedQuery needs a sha256Hash")
    return digest.lower()
