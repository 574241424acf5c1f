"""The GraphQL schema, and how its errors are logged."""

from collections.abc import Callable
from functools import partial

import strawberry
from strawberry.extensions import (
    DisableIntrospection,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    QueryDepthLimiter,
    SchemaExtension,
)

from focusgql.api.errors import CodedErrors
from focusgql.api.mutations import Mutation
from focusgql.api.queries import Query
from focusgql.api.subscriptions import Subscription
from focusgql.api.transport import DocumentCache, SubscriptionsOverWebSocket
from focusgql.settings import Settings


class FocusSchema(strawberry.Schema):
    def process_errors(self, errors: object, execution_context: object = None) -> None:
        # Expected errors are answers, not incidents; CodedErrors logs the rest.
        return None


def build_schema(settings: Settings | None = None) -> strawberry.Schema:
    """The schema with the document limits in `settings` (the defaults without)."""
    limits = settings or Settings.model_construct()
    # Factories, not instances: Strawberry builds each extension per operation.
    extensions: list[Callable[[], SchemaExtension]] = [
        CodedErrors,
        # Tokens are counted while parsing: an oversized document costs no more to refuse.
        partial(MaxTokensLimiter, max_token_count=limits.max_query_tokens),
        partial(QueryDepthLimiter, max_depth=limits.max_query_depth),
        partial(MaxAliasesLimiter, max_alias_count=limits.max_aliases),
        SubscriptionsOverWebSocket,
        # Clients send the same few documents again and again: parse and validate
        # each once (profiling put validation first in a mutation's cost).
        DocumentCache,
    ]
    if not limits.introspection:
        extensions.append(DisableIntrospection)
    return FocusSchema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        extensions=extensions,
    )
