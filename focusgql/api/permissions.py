"""Who may run a field: `extensions=[signed_in()]` on every field that needs a person.

Strawberry's permission API (a `BasePermission` in a `PermissionExtension`)
checks before the resolver; the resolver then reads who is asking with
`signed_in_user` / `signed_in_id`, which never authenticate on their own.
"""

from typing import Any

from strawberry.permission import BasePermission, PermissionExtension
from strawberry.types import Info

from focusgql.api.context import Context
from focusgql.domain.user import User


class SignedIn(BasePermission):
    """The request (or the WebSocket's connection_init) carries a valid token."""

    async def has_permission(self, source: Any, info: Info[Context, None], **kwargs: Any) -> bool:
        # Raised rather than returned False: the project's Unauthenticated says
        # which (no token, expired, revoked, ...), and errors.classify gives it
        # its UNAUTHENTICATED code like any other FocusError.
        await info.context.current_user()
        return True


def signed_in() -> PermissionExtension:
    """SignedIn for one field. No schema directive: schema.graphql stays as it is."""
    return PermissionExtension([SignedIn()], use_directives=False)


def signed_in_user(info: Info[Context, None]) -> User:
    """The person SignedIn let in (it has read them already)."""
    user = info.context.known_user()
    if user is None:  # pragma: no cover - a field without signed_in()
        raise RuntimeError(f"{info.field_name} reads the signed-in person without signed_in()")
    return user


def signed_in_id(info: Info[Context, None]) -> str:
    return signed_in_user(info).id
