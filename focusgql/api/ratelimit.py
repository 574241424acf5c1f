"""Rate limits on mutations, declared on each field: `extensions=[RateLimit(...)]`."""

from typing import Any, Literal

from strawberry.extensions import FieldExtension
from strawberry.extensions.field_extension import AsyncExtensionResolver
from strawberry.types import Info

from focusgql.api.context import Context
from focusgql.domain.errors import BadUserInput
from focusgql.domain.user import normalize_email
from focusgql.services.ratelimit import Bucket

Kind = Literal["login", "register", "mutation"]


class RateLimit(FieldExtension):
    """Counts the call before the resolver runs; RATE_LIMITED with retryAfter when over.

    "login" counts per client address and per account (the email asked for, so
    guessing one person's password from many addresses is slowed too);
    "register" per address; "mutation" per address and per signed-in person.
    """

    def __init__(self, kind: Kind) -> None:
        self.kind = kind

    async def resolve_async(
        self, next_: AsyncExtensionResolver, source: Any, info: Info[Context, None], **kwargs: Any
    ) -> Any:
        context = info.context
        limits = context.services.limits
        address = context.client_address
        if self.kind == "mutation":
            await limits.hit(Bucket.MUTATIONS_PER_ADDRESS, address)
            await limits.hit(Bucket.MUTATIONS_PER_USER, await context.current_user_id())
        else:
            await limits.hit(Bucket.LOGIN_PER_ADDRESS, address)
            if self.kind == "login" and (account := _account(kwargs.get("email"))):
                await limits.hit(Bucket.LOGIN_PER_ACCOUNT, account)
        return await next_(source, info, **kwargs)


def _account(email: object) -> str | None:
    if not isinstance(email, str):
        return None
    try:
        return normalize_email(email)
    except BadUserInput:
        return None  # no such account can exist; the address limit still counts
