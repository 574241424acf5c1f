"""The one place errors get their `extensions.code`; anything unexpected is masked."""

import logging

from graphql.error import GraphQLError
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError

from focusgql.api.strawberry_internals import RewrittenErrors
from focusgql.domain.errors import DatabaseUnavailable, FocusError
from focusgql.faults import DATABASE

log = logging.getLogger("focusgql.errors")

# A missing argument in the document itself ("... is required, but it was not
# provided") is a validation failure, not bad input: it is not in this list.
_INPUT_HINTS = ("invalid value", "cannot represent", "of required type", "not to be None")


def _document_code(error: GraphQLError) -> str:
    message = error.message
    if message.startswith("Syntax Error"):
        return "GRAPHQL_PARSE_FAILED"
    if any(hint in message for hint in _INPUT_HINTS):
        return "BAD_USER_INPUT"  # a value the client sent does not fit
    # Everything else ("Variable '$a' is never used.", unknown fields) is the document.
    return "GRAPHQL_VALIDATION_FAILED"


def _with_code(
    error: GraphQLError, code: str, message: str | None = None, **details: object
) -> GraphQLError:
    return GraphQLError(
        message=message or error.message,
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        extensions={**(error.extensions or {}), "code": code, **details},
    )


def classify(error: GraphQLError) -> GraphQLError:
    original = error.original_error
    if isinstance(original, DatabaseUnavailable):
        DATABASE.failed(original, "a request")
    if isinstance(original, FocusError):
        return _with_code(error, original.code)
    if isinstance(original, InvalidOperationTypeError | CannotGetOperationTypeError):
        # e.g. a mutation sent over the legacy graphql-ws protocol, which only
        # carries subscriptions here: use graphql-transport-ws or HTTP for those.
        return _with_code(error, "BAD_USER_INPUT")
    if original is None or isinstance(original, GraphQLError):
        # graphql-core 3.3 keeps a variable's or argument's coercion error (a bad
        # Int, DateTime or enum value, a null for a non-null argument) as
        # original_error: it is about the request, not a fault.
        if error.extensions and "code" in error.extensions:
            return error
        return _with_code(error, _document_code(error))
    log.error("unexpected error at %s", error.path, exc_info=original)
    return _with_code(error, "INTERNAL", "Unexpected error.")


class CodedErrors(RewrittenErrors):
    """Strawberry's MaskErrors, deciding per error what the client may read."""

    def rewrite(self, errors: list[GraphQLError]) -> list[GraphQLError]:
        coded = [classify(error) for error in errors]
        metrics = getattr(
            getattr(self.execution_context.context, "services", None), "metrics", None
        )
        if metrics is not None:
            for error in coded:
                metrics.errors.labels((error.extensions or {}).get("code", "INTERNAL")).inc()
        return coded
