"""GraphQL over HTTP content negotiation (graphql.github.io/graphql-over-http).

A client that accepts `application/graphql-response+json` gets it, and with it
the spec's status codes: a *request error* (the document does not parse or
validate, a variable does not coerce: nothing was executed) is 400 with no
`data` entry. A client that asks for `application/json` (or sends `*/*`, or no
Accept at all) gets the legacy media type, where every GraphQL answer is 200,
as the spec requires for it. An Accept that neither satisfies is 406.
"""

from collections.abc import Mapping

GRAPHQL_RESPONSE_JSON = "application/graphql-response+json"
JSON = "application/json"

# The ranges that may stand for each answer, most specific first. Wildcards
# only ever mean application/json, as the spec has it for `*/*`: every client
# written before the new media type understands that one.
_MATCHES: Mapping[str, tuple[str, ...]] = {
    GRAPHQL_RESPONSE_JSON: (GRAPHQL_RESPONSE_JSON,),
    JSON: (JSON, "application/*", "*/*"),
}

# Streaming transports choose their own media type (strawberry.http.streaming).
STREAMING = ("text/event-stream", "multipart/mixed")


def _ranges(accept: str) -> list[tuple[str, float]]:
    """(media range, quality) of each Accept entry, q=0 ("not this") included."""
    ranges: list[tuple[str, float]] = []
    for part in accept.split(","):
        media, *params = (piece.strip() for piece in part.split(";"))
        quality = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = min(1.0, max(0.0, float(value)))
                except ValueError:
                    quality = 0.0
        if media:
            ranges.append((media.lower(), quality))
    return ranges


def _quality(answer: str, ranges: list[tuple[str, float]]) -> float:
    """The quality the client gives `answer`: that of the most specific range
    naming it (RFC 9110, 12.5.1), 0 if none does."""
    for media in _MATCHES[answer]:
        qualities = [quality for name, quality in ranges if name == media]
        if qualities:
            return qualities[0]
    return 0.0


def response_media_type(accept: str | None) -> str | None:
    """The media type to answer a single (non-streamed) result with; None: 406."""
    if accept is None or not accept.strip():
        return JSON  # the spec's legacy rule until its watershed
    ranges = _ranges(accept)
    new, legacy = _quality(GRAPHQL_RESPONSE_JSON, ranges), _quality(JSON, ranges)
    if new == legacy == 0:
        return None
    # Equal: the spec's own media type, which says more (request errors are 400).
    return GRAPHQL_RESPONSE_JSON if new >= legacy else JSON


def wants_stream(accept: str | None) -> bool:
    """Whether the client asks for a streamed (SSE or multipart) answer."""
    return accept is not None and any(
        media.startswith(kind) and quality > 0
        for media, quality in _ranges(accept)
        for kind in STREAMING
    )


def is_request_error(response: Mapping[str, object]) -> bool:
    """No execution happened: no data, and errors none of which is a field's.

    Field errors always carry a `path`; parse, validation and variable-coercion
    errors (and the refusals made before execution) never do."""
    errors = response.get("errors")
    if response.get("data") is not None or not isinstance(errors, list) or not errors:
        return False
    return all(isinstance(error, Mapping) and not error.get("path") for error in errors)
