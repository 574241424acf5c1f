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

# What each Accept range may be answered with, best first.
_RANGES: Mapping[str, tuple[str, ...]] = {
    GRAPHQL_RESPONSE_JSON: (GRAPHQL_RESPONSE_JSON,),
    JSON: (JSON,),
    # The spec: `*/*` (and, by extension, `application/*`) gets application/json,
    # which every client written before the new media type understands.
    "application/*": (JSON,),
    "*/*": (JSON,),
}

# Streaming transports choose their own media type (strawberry.http.streaming).
STREAMING = ("text/event-stream", "multipart/mixed")


def _ranges(accept: str) -> list[tuple[float, int, str]]:
    """(quality, position, media range) of each Accept entry with q > 0."""
    ranges: list[tuple[float, int, str]] = []
    for position, part in enumerate(accept.split(",")):
        media, *params = (piece.strip() for piece in part.split(";"))
        quality = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if media and quality > 0:
            ranges.append((quality, position, media.lower()))
    return ranges


def response_media_type(accept: str | None) -> str | None:
    """The media type to answer a single (non-streamed) result with; None: 406."""
    if accept is None or not accept.strip():
        return JSON  # the spec's legacy rule until its watershed
    ranges = _ranges(accept)
    # Highest quality first; among equals the client's own order decides.
    for _, _, media in sorted(ranges, key=lambda entry: (-entry[0], entry[1])):
        choices = _RANGES.get(media)
        if choices:
            return choices[0]
    return None


def wants_stream(accept: str | None) -> bool:
    """Whether the client asks for a streamed (SSE or multipart) answer."""
    return accept is not None and any(
        media.startswith(kind) for _, _, media in _ranges(accept) for kind in STREAMING
    )


def is_request_error(response: Mapping[str, object]) -> bool:
    """No execution happened: no data, and errors none of which is a field's.

    Field errors always carry a `path`; parse, validation and variable-coercion
    errors (and the refusals made before execution) never do."""
    errors = response.get("errors")
    if response.get("data") is not None or not isinstance(errors, list) or not errors:
        return False
    return all(isinstance(error, Mapping) and not error.get("path") for error in errors)
