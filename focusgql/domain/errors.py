"""Errors a client may see, each with the GraphQL `extensions.code` it carries,
and the store's failures as the rest of the code sees them.

graphql-core copies `extensions` from the original exception onto the GraphQL
error, so raising one of these anywhere below a resolver is all it takes.
"""

RETRY_AFTER_SECONDS = 1
"""What an UNAVAILABLE answer for the database suggests waiting: each retry
costs at most one deadline (FOCUSGQL_DATABASE_TIMEOUT_MS), and an outage can
end any second."""


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


class DatabaseError(Exception):
    """The database failed an operation: a bug, a document this process cannot
    read, a deployment without change streams. The store raises it chained
    from the driver's error, so nothing above the store needs the driver to
    tell; not a FocusError, as its message is not the client's to read (it is
    masked as INTERNAL and logged)."""


class DatabaseUnavailable(Unavailable, DatabaseError):
    """The database is away, stalled or failing (its disk full): not a bug, and
    what the outage log (focusgql/faults.py) counts. The store raises it
    chained from the driver's error."""

    def __init__(self) -> None:
        super().__init__("the database is unavailable; try again", retryAfter=RETRY_AFTER_SECONDS)


class RunningSessionExists(Exception):
    """The user already has a running session (the store's unique index said so)."""


class EmailTaken(Exception):
    """The email is already registered (the store's unique index said so)."""
