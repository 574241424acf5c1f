"""Errors a client may see, each with the GraphQL `extensions.code` it carries.

graphql-core copies `extensions` from the original exception onto the GraphQL
error, so raising one of these anywhere below a resolver is all it takes.
"""


class FocusError(Exception):
    """An error whose message is safe to show to the client."""

    code = "INTERNAL"

    def __init__(self, message: str, **details: object) -> None:
        super().__init__(message)
        self.details = details

    @property
    def extensions(self) -> dict[str, object]:
        return {"code": self.code, **self.details}


class BadUserInput(FocusError):
    code = "BAD_USER_INPUT"


class NotFound(FocusError):
    code = "NOT_FOUND"


class Conflict(FocusError):
    code = "CONFLICT"


class Unauthenticated(FocusError):
    code = "UNAUTHENTICATED"


class RateLimited(FocusError):
    code = "RATE_LIMITED"


class Unavailable(FocusError):
    code = "UNAVAILABLE"
