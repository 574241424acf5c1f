"""How often one client address or one person may try something.

Counting is the `limits` library's sliding-window counter on its in-process
memory storage: O(1) per hit, and old windows expire on their own. Limits are
per server process (with `serve --workers N` each worker counts on its own).

Limits read the system clock (the library has no clock parameter), so tests
drive them with short real windows rather than the manual clock.
"""

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import Enum

from limits import RateLimitItem, parse_many
from limits.aio.storage import MemoryStorage
from limits.aio.strategies import SlidingWindowCounterRateLimiter

from focusgql.domain.errors import RateLimited


class Bucket(Enum):
    """What is being counted; each has its own limits and its own keys."""

    LOGIN_PER_ADDRESS = "login-address"
    LOGIN_PER_ACCOUNT = "login-account"
    MUTATIONS_PER_USER = "mutations-user"
    MUTATIONS_PER_ADDRESS = "mutations-address"


_MESSAGES = {
    Bucket.LOGIN_PER_ADDRESS: "too many sign-in attempts from this address",
    Bucket.LOGIN_PER_ACCOUNT: "too many sign-in attempts for this account",
    Bucket.MUTATIONS_PER_USER: "too many changes",
    Bucket.MUTATIONS_PER_ADDRESS: "too many changes from this address",
}


@dataclass(frozen=True, slots=True)
class RatePolicy:
    """Limits per bucket in the `limits` notation ("10/minute;100/hour"); "" is unlimited."""

    rules: dict[Bucket, str] = field(default_factory=dict)

    def items(self, bucket: Bucket) -> Sequence[RateLimitItem]:
        text = self.rules.get(bucket, "")
        return parse_many(text) if text.strip() else ()


class RateLimiter:
    def __init__(self, policy: RatePolicy | None = None) -> None:
        policy = policy or RatePolicy()
        self._items = {bucket: policy.items(bucket) for bucket in Bucket}
        self._strategy = SlidingWindowCounterRateLimiter(MemoryStorage())

    async def hit(self, bucket: Bucket, key: str) -> None:
        """Count one attempt; RateLimited (with retryAfter seconds) when over a limit."""
        for item in self._items[bucket]:
            if not await self._strategy.hit(item, bucket.value, key):
                stats = await self._strategy.get_window_stats(item, bucket.value, key)
                retry_after = max(1, math.ceil(stats.reset_time - time.time()))
                raise RateLimited(
                    f"{_MESSAGES[bucket]}; try again in {retry_after} s",
                    retryAfter=retry_after,
                )
