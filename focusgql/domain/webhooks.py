"""Webhooks: which session changes are events, where they may be sent, when
a failed delivery is tried again.

- Events: a session is `session.started` when created, `session.paused` and
  `session.resumed` on ACTIVE -> PAUSED -> ACTIVE, `session.ended` when it
  becomes COMPLETED or ABANDONED (by the person, a newer session, or the
  abandon deadline). Activity and tab switches are never events.
- Targets: an absolute http(s) URL with a host and no credentials. Every
  address its host resolves to must be public (`is_refused_address`), unless
  the operator allows private ones: a webhook must not make the server a
  proxy into its own network.
- Retries (`next_attempt`): the first attempt is at once; the wait before the
  next one starts at window / 17280 (5 s of a 24 h window) and doubles, up to
  window / 8 (3 h), counted from the attempt that failed; the last attempt is
  at the window's end, after which the delivery has FAILED.
"""

import ipaddress
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from focusgql.domain.errors import BadUserInput
from focusgql.domain.session import FocusSession, Snapshot
from focusgql.domain.timeline import Status

STARTED = "session.started"
PAUSED = "session.paused"
RESUMED = "session.resumed"
ENDED = "session.ended"
EVENT_TYPES = (STARTED, PAUSED, RESUMED, ENDED)

URL_MAX_LENGTH = 2048
FIRST_WAIT_PARTS = 17280
"""The first retry waits window / this: 5 s of a 24 h window."""
LONGEST_WAIT_PARTS = 8
"""No retry waits longer than window / this: 3 h of a 24 h window."""


@dataclass(frozen=True, slots=True)
class Target:
    """A checked webhook URL, split into what sending needs."""

    url: str
    scheme: str
    host: str
    port: int


def check_events(events: list[str]) -> tuple[str, ...]:
    """The event types asked for, each once, in the order of EVENT_TYPES."""
    if not events:
        raise BadUserInput("name at least one event", field="events")
    unknown = sorted(set(events) - set(EVENT_TYPES))
    if unknown:
        known = ", ".join(EVENT_TYPES)
        raise BadUserInput(f"unknown events {unknown}; known: {known}", field="events")
    return tuple(t for t in EVENT_TYPES if t in events)


def check_url(url: str) -> Target:
    if len(url) > URL_MAX_LENGTH:
        raise BadUserInput(f"url is longer than {URL_MAX_LENGTH} characters", field="url")
    if any(c.isspace() or ord(c) < 0x20 for c in url):
        raise BadUserInput("url may not contain spaces or control characters", field="url")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as error:
        raise BadUserInput("url is not a valid URL", field="url") from error
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise BadUserInput("url must be http or https", field="url")
    if not parts.hostname:
        raise BadUserInput("url must name a host", field="url")
    if parts.username is not None or parts.password is not None:
        # Credentials would be stored and shown in listings: use the signature instead.
        raise BadUserInput("url may not carry a user name or password", field="url")
    return Target(
        url=url,
        scheme=scheme,
        host=parts.hostname,
        port=port if port is not None else (443 if scheme == "https" else 80),
    )


def is_refused_address(address: str) -> bool:
    """Whether a webhook may not be sent to this IP address: anything not
    globally routable (private, loopback, link-local, shared, reserved,
    unspecified) or multicast, IPv4 written as IPv6 included."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])  # drop an IPv6 zone
    except ValueError:
        return True
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = ip.ipv4_mapped or ip.sixtofour
        if embedded is not None:
            ip = embedded
        elif ip in _NAT64:
            ip = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return not ip.is_global or ip.is_multicast


_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


def session_events(before: FocusSession | None, after: FocusSession) -> list[str]:
    """The events a change from `before` (None: just created) to `after` makes."""
    if before is None:
        return [STARTED] + ([] if after.status.is_running else [ENDED])
    was, now = before.status, after.status
    if was is now or not was.is_running:
        return []
    if not now.is_running:
        return [ENDED]
    return [PAUSED] if now is Status.PAUSED else [RESUMED]


def payload(event_type: str, session: FocusSession, counted: Snapshot) -> dict[str, object]:
    """The body of an event (Standard Webhooks' type / timestamp / data), with
    the session as it was at the change: the final counters once ended."""
    t = session.timeline
    return {
        "type": event_type,
        "timestamp": _instant(counted.at),
        "data": {
            "id": session.id,
            "status": t.status.value,
            "targetMinutes": session.target_minutes,
            "contentId": session.content_id,
            "tags": list(session.tags),
            "startedAt": _instant(t.started_at),
            "endedAt": _instant(t.ended_at) if t.ended_at else None,
            "elapsedSeconds": counted.elapsed,
            "activeSeconds": counted.active,
            "idleSeconds": counted.idle,
            "tabSwitches": session.tab_switches,
            "focusScore": session.focus_score,
        },
    }


def _instant(at: datetime) -> str:
    return at.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def first_wait(window: timedelta) -> timedelta:
    return window / FIRST_WAIT_PARTS


def next_attempt(
    event_at: datetime, attempts: int, attempted_at: datetime, window: timedelta
) -> datetime | None:
    """When to try again after the `attempts`-th attempt, made at
    `attempted_at`, failed; None once the window is over."""
    end = event_at + window
    if attempted_at >= end:
        return None
    # In float seconds: a timedelta doubled past a few dozen times overflows.
    doubled = first_wait(window).total_seconds() * 2.0 ** min(attempts - 1, 64)
    wait = min(doubled, (window / LONGEST_WAIT_PARTS).total_seconds())
    return min(attempted_at + timedelta(seconds=wait), end)
