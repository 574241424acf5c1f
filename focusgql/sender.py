"""Sending webhook deliveries over HTTP, signed the Standard Webhooks way.

The host is resolved here, every address checked (unless private ones are
allowed), and the request made to the checked address itself, with the
original name as the Host header and the TLS server name: a name that
resolves to a public address when checked and to a private one a moment
later (DNS rebinding) cannot steer the request, because it is not resolved
twice. Redirects are not followed, for the same reason.
"""

import asyncio
import ipaddress
import socket
from collections.abc import Callable
from datetime import UTC, datetime

import httpx
from standardwebhooks.webhooks import Webhook as Signer

from focusgql.domain.errors import BadUserInput
from focusgql.domain.webhooks import check_url, is_refused_address
from focusgql.services.outbox import Attempt, OutboxEvent, Resolver, Webhook

RESOLVE_TIMEOUT_SECONDS = 5.0
USER_AGENT = "focusgql-webhooks/1"


async def resolve_host(host: str, port: int) -> list[str]:
    """The addresses `host` resolves to, in the resolver's order, each once."""
    try:
        return [str(ipaddress.ip_address(host))]
    except ValueError:
        pass
    loop = asyncio.get_running_loop()
    try:
        infos = await asyncio.wait_for(
            loop.getaddrinfo(host, port, type=socket.SOCK_STREAM), RESOLVE_TIMEOUT_SECONDS
        )
    except (OSError, TimeoutError, UnicodeError):
        return []
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def wall_clock() -> datetime:
    return datetime.now(UTC)


class HttpSender:
    def __init__(
        self,
        timeout_seconds: float,
        allow_private: bool = False,
        resolve: Resolver = resolve_host,
        wall: Callable[[], datetime] = wall_clock,
    ) -> None:
        self.allow_private = allow_private
        self.resolve = resolve
        # The signature's timestamp is checked by the receiver against its own
        # clock (5 minutes either way), so it is the wall clock's, not the
        # injected one that schedules attempts.
        self.wall = wall
        self.timeout_seconds = timeout_seconds
        self._client = httpx.AsyncClient(
            timeout=timeout_seconds, follow_redirects=False, trust_env=False
        )

    async def send(self, webhook: Webhook, event: OutboxEvent) -> Attempt:
        # httpx's timeout is per operation (connect, each read...): a receiver
        # answering a byte at a time could hold an attempt past its lease.
        try:
            async with asyncio.timeout(self.timeout_seconds):
                return await self._send(webhook, event)
        except TimeoutError:
            return Attempt(error="timeout")

    async def _send(self, webhook: Webhook, event: OutboxEvent) -> Attempt:
        try:
            target = check_url(webhook.url)
        except BadUserInput:
            return Attempt(error="invalid url")
        addresses = await self.resolve(target.host, target.port)
        if not addresses:
            return Attempt(error="host does not resolve")
        if not self.allow_private and any(is_refused_address(a) for a in addresses):
            return Attempt(error="address not allowed")
        url = httpx.URL(webhook.url)
        signed_at = self.wall()
        headers = {
            "content-type": "application/json",
            "user-agent": USER_AGENT,
            "host": url.netloc.decode("ascii"),
            "webhook-id": event.id,
            "webhook-timestamp": str(int(signed_at.timestamp())),
            "webhook-signature": Signer(webhook.secret).sign(event.id, signed_at, event.body),
        }
        extensions = {"sni_hostname": target.host} if target.scheme == "https" else {}
        attempt = Attempt(error="no address")
        # Each checked address in turn, as a browser would: a name's first
        # address (often IPv6) may be unreachable from here.
        for address in addresses:
            attempt = await self._post(url.copy_with(host=address), headers, extensions, event)
            if attempt.error != "ConnectError":
                break
        return attempt

    async def _post(
        self,
        url: httpx.URL,
        headers: dict[str, str],
        extensions: dict[str, str],
        event: OutboxEvent,
    ) -> Attempt:
        try:
            async with self._client.stream(
                "POST", url, content=event.body.encode(), headers=headers, extensions=extensions
            ) as response:
                # The body is never read: a receiver cannot make us hold megabytes.
                return Attempt(status_code=response.status_code)
        except httpx.TimeoutException:
            return Attempt(error="timeout")
        except httpx.HTTPError as error:
            return Attempt(error=type(error).__name__)

    async def close(self) -> None:
        await self._client.aclose()
