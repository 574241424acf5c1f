"""The webhook rules: events of a change, allowed targets, the retry schedule."""

import ipaddress
import itertools
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from focusgql.domain.errors import BadUserInput
from focusgql.domain.session import FocusSession
from focusgql.domain.timeline import Status, start
from focusgql.domain.webhooks import (
    EVENT_TYPES,
    check_events,
    check_url,
    is_refused_address,
    next_attempt,
    session_events,
)

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)

# Special-purpose blocks (RFC 6890 and its IANA registry) a webhook must not reach.
REFUSED_V4 = [
    "0.0.0.0/8",
    "10.0.0.0/8",
    "100.64.0.0/10",
    "127.0.0.0/8",
    "169.254.0.0/16",
    "172.16.0.0/12",
    "192.0.0.0/29",
    "192.0.2.0/24",
    "192.168.0.0/16",
    "198.18.0.0/15",
    "198.51.100.0/24",
    "203.0.113.0/24",
    "224.0.0.0/4",
    "240.0.0.0/4",
]
REFUSED_V6 = ["::1/128", "::/128", "fc00::/7", "fe80::/10", "ff00::/8", "2001:db8::/32"]
PUBLIC_V4 = ["1.0.0.0/8", "8.0.0.0/8", "52.0.0.0/8", "93.184.0.0/16", "151.101.0.0/16"]
PUBLIC_V6 = ["2600::/16", "2a00:1450::/32"]


def addresses_in(networks: list[str]) -> st.SearchStrategy[str]:
    def pick(network: str) -> st.SearchStrategy[str]:
        net = ipaddress.ip_network(network)
        return st.integers(0, net.num_addresses - 1).map(lambda i: str(net[i]))

    return st.sampled_from(networks).flatmap(pick)


@given(addresses_in(REFUSED_V4 + REFUSED_V6))
def test_every_special_purpose_address_is_refused(address: str) -> None:
    assert is_refused_address(address)


@given(addresses_in(REFUSED_V4))
def test_ipv4_written_as_ipv6_is_refused_too(address: str) -> None:
    assert is_refused_address(f"::ffff:{address}")
    assert is_refused_address(str(ipaddress.IPv6Address(f"64:ff9b::{address}")))


@given(addresses_in(PUBLIC_V4 + PUBLIC_V6))
def test_public_addresses_are_allowed(address: str) -> None:
    assert not is_refused_address(address)


@pytest.mark.parametrize("text", ["", "localhost", "256.1.1.1", "fe80::1%eth0", "::ffff:10.0.0.1"])
def test_what_is_not_a_public_address_is_refused(text: str) -> None:
    assert is_refused_address(text)


@given(st.lists(st.sampled_from(EVENT_TYPES), min_size=1))
def test_events_come_back_once_each_in_a_fixed_order(events: list[str]) -> None:
    checked = check_events(events)
    assert set(checked) == set(events)
    assert list(checked) == sorted(checked, key=EVENT_TYPES.index)


@pytest.mark.parametrize("events", [[], ["session.ended", "session.deleted"], ["Session.Ended"]])
def test_unknown_or_no_events_are_bad_input(events: list[str]) -> None:
    with pytest.raises(BadUserInput) as error:
        check_events(events)
    assert error.value.details == {"field": "events"}


def test_urls_are_split_with_default_ports() -> None:
    assert check_url("https://Example.com/hook?x=1").port == 443
    target = check_url("http://example.com:8080/")
    assert (target.scheme, target.host, target.port) == ("http", "example.com", 8080)
    assert check_url("http://[2001:db8::1]/").host == "2001:db8::1"


@pytest.mark.parametrize(
    "url",
    [
        "example.com/hook",
        "file:///etc/passwd",
        "http://",
        "https://a:b@example.com/",
        "http://x\n/",
    ],
)
def test_bad_urls_are_bad_input(url: str) -> None:
    with pytest.raises(BadUserInput):
        check_url(url)


def session(status: Status) -> FocusSession:
    timeline = start(T0, 15)
    if status is Status.PAUSED:
        timeline = timeline.pause(T0 + timedelta(seconds=5))
    s = FocusSession("s", "u", 25, None, timeline, T0, T0)
    if not status.is_running:
        s = s.ended(T0 + timedelta(seconds=9), status)
    return s


STATUSES = list(Status)


@given(st.sampled_from(STATUSES), st.sampled_from(STATUSES))
def test_a_change_is_an_event_exactly_when_the_status_moves_on(was: Status, now: Status) -> None:
    events = session_events(session(was), session(now))
    if was is now or not was.is_running:
        assert events == []  # an ended session never changes status again
    elif not now.is_running:
        assert events == ["session.ended"]
    else:
        assert events == ["session.paused" if now is Status.PAUSED else "session.resumed"]


def test_creating_is_started() -> None:
    assert session_events(None, session(Status.ACTIVE)) == ["session.started"]


def oracle_attempts(window: timedelta) -> list[timedelta]:
    """Every attempt of a delivery that always fails and is tried the moment
    it is due, by walking the rule one attempt at a time: at once, then after
    window/17280, doubling each time, never more than window/8, the last one
    at the window's end."""
    at, wait, attempts = timedelta(0), window / 17280, [timedelta(0)]
    while at < window:
        at = min(at + wait, window)
        attempts.append(at)
        wait = min(wait * 2, window / 8)
    return attempts


def chained(window: timedelta) -> list[timedelta]:
    attempts, when = [timedelta(0)], T0
    while (due := next_attempt(T0, len(attempts), when, window)) is not None:
        attempts.append(due - T0)
        when = due
    return attempts


@given(st.integers(min_value=1, max_value=10 * 24 * 3600))
def test_the_schedule_is_the_rule_for_any_window(seconds: int) -> None:
    window = timedelta(seconds=seconds)
    got, expected = chained(window), oracle_attempts(window)
    assert len(got) == len(expected)
    for a, b in zip(got, expected, strict=True):
        assert abs(a - b) <= timedelta(milliseconds=1)


def test_the_24_hour_schedule() -> None:
    offsets = [int(a.total_seconds()) for a in chained(timedelta(hours=24))]
    assert offsets[:6] == [0, 5, 15, 35, 75, 155]
    assert offsets[-1] == 24 * 3600 and len(offsets) == 20
    gaps = [b - a for a, b in itertools.pairwise(offsets)]
    assert max(gaps) == 3 * 3600


@given(
    st.integers(min_value=1, max_value=40),
    st.floats(min_value=0, max_value=2 * 24 * 3600, allow_nan=False),
)
def test_a_late_attempt_waits_from_when_it_was_made(attempts: int, late: float) -> None:
    window = timedelta(hours=24)
    made = T0 + timedelta(seconds=late)
    due = next_attempt(T0, attempts, made, window)
    if made >= T0 + window:
        assert due is None
    else:
        assert due is not None and made < due <= T0 + window
