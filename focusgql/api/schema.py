"""The GraphQL schema, and how its errors are logged."""

import strawberry

from focusgql.api.errors import CodedErrors
from focusgql.api.mutations import Mutation
from focusgql.api.queries import Query
from focusgql.api.subscriptions import Subscription


class FocusSchema(strawberry.Schema):
    def process_errors(self, errors: object, execution_context: object = None) -> None:
        # Expected errors are answers, not incidents; CodedErrors logs the rest.
        return None


def build_schema() -> strawberry.Schema:
    return FocusSchema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        extensions=[CodedErrors],
    )
