"""How the database's coming and going is logged.

Which driver errors mean an outage is the store's to say (store/failures.py):
it raises DatabaseUnavailable for those and DatabaseError for the rest, each
chained from the driver's error, which the lines here name.
"""

import logging
from time import monotonic

from focusgql.domain.errors import DatabaseError, DatabaseUnavailable


def driver_error(error: BaseException) -> BaseException:
    """The driver's error behind a store's DatabaseError (what a log line names)."""
    cause = error.__cause__
    return cause if isinstance(error, DatabaseError) and cause is not None else error


class Outage:
    """The process's view of the database: one WARNING when operations start
    failing for want of it, one INFO when one works again. An outage is an
    incident, not a stream of them: every request and background round that
    meets it would otherwise log its own line (and a traceback), thousands a
    minute at a few hundred people."""

    def __init__(self, log: logging.Logger) -> None:
        self.log = log
        self.since: float | None = None
        self.failures = 0

    @property
    def down(self) -> bool:
        return self.since is not None

    def failed(self, error: DatabaseUnavailable, where: str) -> None:
        self.failures += 1
        if self.since is None:
            self.since = monotonic()
            cause = driver_error(error)
            self.log.warning(
                "database unavailable (%s in %s: %s); answering UNAVAILABLE and retrying",
                type(cause).__name__,
                where,
                _brief(cause),
            )

    def recovered(self) -> None:
        if self.since is None:
            return
        self.log.info(
            "database available again after %.1f s (%d operations failed meanwhile)",
            monotonic() - self.since,
            self.failures,
        )
        self.since = None
        self.failures = 0


DATABASE = Outage(logging.getLogger("focusgql.database"))
"""The one per process: every path that meets the database's absence reports
to it (a module-level instance, like a logger, so the request paths need no
new parameter)."""


class Retries:
    """A background loop's failed rounds. An outage goes to `outage`; anything
    else (a bug, a document this process cannot read, a deployment without
    change streams) is logged once, until a round succeeds: with its traceback
    if it is not the database's own refusal."""

    def __init__(
        self,
        where: str,
        log: logging.Logger,
        outage: Outage = DATABASE,
        *,
        writes: bool = True,
    ) -> None:
        self.where = where
        self.log = log
        self.outage = outage
        self.writes = writes
        """Whether a successful round wrote: only a write says the database is
        back (one whose disk is full still answers reads)."""
        self._failing = False

    def failed(self, error: BaseException) -> None:
        if isinstance(error, DatabaseUnavailable):
            self.outage.failed(error, self.where)
            return
        if self._failing:
            return
        self._failing = True
        if isinstance(error, DatabaseError):
            self.log.warning(
                "%s unavailable (%s); retrying", self.where, _brief(driver_error(error))
            )
        else:
            self.log.error("%s failed; retrying", self.where, exc_info=error)

    def succeeded(self) -> None:
        if self._failing:
            self._failing = False
            self.log.info("%s working again", self.where)
        if self.writes and self.outage.since is not None:
            self.outage.recovered()


def _brief(error: BaseException) -> str:
    text = str(error)
    return text if len(text) <= 200 else text[:200] + "..."
