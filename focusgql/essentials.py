"""What every process of one server must agree on: the database and the signing secret.

Both come from the settings when they are given. Otherwise the database is
an embedded SecantusDB in the data directory, started here (and, for a
server, supervised: store/supervisor.py), and the secret is a generated one
kept beside it. `focusgql serve` settles them once, before its workers
start, and hands them on through the environment; an app started without
the CLI settles them in its lifespan (bootstrap.runtime); `focusgql token`
settles them for one read.

Blocking (starting SecantusDB takes seconds): async callers run it in a thread.
"""

import logging
from dataclasses import dataclass

from focusgql.auth import load_or_create_secret
from focusgql.settings import Settings
from focusgql.store.mongo import EmbeddedServer
from focusgql.store.supervisor import Supervisor

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Essentials:
    uri: str
    secret: str
    embedded: EmbeddedServer | None = None
    """The SecantusDB started here, if no URI was given."""
    supervisor: Supervisor | None = None

    def close(self) -> None:
        """Stop the embedded database, if one was started (supervision first, so
        the stop is not taken for a crash and undone)."""
        if self.supervisor is not None:
            self.supervisor.stop()
        if self.embedded is not None:
            self.embedded.stop()


def open_essentials(settings: Settings, *, serving: bool = True) -> Essentials:
    """The database's URI and the secret, starting an embedded database if none
    is given. `serving`: for a server, which supervises its database and warns
    that its tokens are signed with a generated secret; a one-off command does
    neither. Raises DatabaseInUse if another process holds the embedded files."""
    embedded: EmbeddedServer | None = None
    supervisor: Supervisor | None = None
    uri = settings.mongodb_uri
    if uri is None:
        embedded = EmbeddedServer(
            settings.data_dir / "db",
            lock_wait=settings.embedded_lock_wait_seconds,
            sync_on_commit=settings.embedded_sync_on_commit,
        )
        embedded.start()
        uri = embedded.uri
        if serving:
            supervisor = Supervisor(embedded, settings.database)
            supervisor.start()
    opened = Essentials(uri, "", embedded, supervisor)
    try:
        secret = _secret(settings, warn=serving)
    except BaseException:
        opened.close()
        raise
    return Essentials(uri, secret, embedded, supervisor)


def _secret(settings: Settings, *, warn: bool) -> str:
    if settings.jwt_secret is not None:
        return settings.jwt_secret.get_secret_value()
    secret = load_or_create_secret(settings.data_dir)
    if warn:
        log.warning(
            "FOCUSGQL_JWT_SECRET is not set: using a generated secret kept in %s",
            settings.data_dir / "jwt-secret",
        )
    return secret
