"""The HTTP sender against a real receiver: signed, pinned to the address it
checked, and cut off at its timeout however the receiver dawdles."""

import time
from datetime import UTC, datetime

from focusgql.sender import HttpSender, resolve_host
from focusgql.services.outbox import OutboxEvent, Webhook
from focusgql.services.webhooks import new_event_id, new_secret
from tests.receiver import receiving

T0 = datetime(2026, 5, 1, 8, 0, tzinfo=UTC)


def webhook(url: str) -> Webhook:
    return Webhook("w1", "u1", url, ("session.started",), new_secret(), T0)


def event() -> OutboxEvent:
    return OutboxEvent(new_event_id(), "session.started", T0, '{"type":"session.started"}')


async def test_a_name_is_sent_to_the_address_it_resolved_to_with_its_host_header() -> None:
    async with receiving() as receiver:
        path, url = receiver.endpoint()
        port = url.split(":")[2].split("/")[0]
        hook = webhook(f"http://localhost:{port}{path}")
        receiver.secrets[path] = hook.secret
        sender = HttpSender(5, allow_private=True)
        try:
            attempt = await sender.send(hook, event())
        finally:
            await sender.close()
        assert attempt.succeeded and attempt.status_code == 200
        (got,) = receiver.on(path)
        assert got.verified
        assert got.headers["host"] == f"localhost:{port}"
        assert "127.0.0.1" in await resolve_host("localhost", int(port))


async def test_private_addresses_are_refused_before_any_request() -> None:
    async with receiving() as receiver:
        _, url = receiver.endpoint()
        sender = HttpSender(5, allow_private=False)
        try:
            attempt = await sender.send(webhook(url), event())
        finally:
            await sender.close()
        assert (attempt.succeeded, attempt.error) == (False, "address not allowed")
        assert receiver.arrivals == []


async def test_a_slow_receiver_is_cut_off_at_the_timeout() -> None:
    async with receiving() as receiver:
        receiver.delay_seconds = 1
        _, url = receiver.endpoint()
        sender = HttpSender(0.3, allow_private=True)
        started = time.monotonic()
        try:
            attempt = await sender.send(webhook(url), event())
        finally:
            await sender.close()
        assert attempt.error == "timeout" and attempt.status_code is None
        assert time.monotonic() - started < 0.9


async def test_redirects_are_not_followed_and_count_as_failures() -> None:
    async with receiving() as receiver:
        path, url = receiver.endpoint()
        receiver.answers[path].append(307)
        sender = HttpSender(5, allow_private=True)
        try:
            attempt = await sender.send(webhook(url), event())
        finally:
            await sender.close()
        assert attempt.status_code == 307 and not attempt.succeeded
        assert len(receiver.on(path)) == 1


async def test_a_name_that_does_not_resolve_is_a_failed_attempt() -> None:
    sender = HttpSender(5, allow_private=True)
    try:
        attempt = await sender.send(webhook("http://no-such-host.invalid/"), event())
    finally:
        await sender.close()
    assert attempt.error == "host does not resolve"


async def test_an_unreachable_first_address_falls_back_to_the_next() -> None:
    async with receiving() as receiver:
        path, url = receiver.endpoint()
        port = int(url.split(":")[2].split("/")[0])

        async def hosts_file(host: str, port: int) -> list[str]:
            # As a name with an IPv6 address first that nothing listens on
            # (the receiver is on 127.0.0.1 only).
            return ["::1", "127.0.0.1"] if host == "dual.test" else []

        hook = webhook(f"http://dual.test:{port}{path}")
        receiver.secrets[path] = hook.secret
        sender = HttpSender(5, allow_private=True, resolve=hosts_file)
        try:
            attempt = await sender.send(hook, event())
        finally:
            await sender.close()
        assert attempt.status_code == 200
        (got,) = receiver.on(path)
        assert got.verified and got.headers["host"] == f"dual.test:{port}"
