"""Which fields need a signed-in person, as the schema declares it (api/permissions.py).

What an anonymous caller gets from each is in test_authz.py; this checks the
declarations: a resolver reading `signed_in_user` / `signed_in_id` without
the permission on its field would fail as INTERNAL instead of UNAUTHENTICATED.
"""

import inspect
from typing import Any

from strawberry.permission import PermissionExtension
from strawberry.types.field import StrawberryField

from focusgql.api.mutations import Mutation
from focusgql.api.permissions import SignedIn
from focusgql.api.queries import Query
from focusgql.api.strawberry_internals import fields_of
from focusgql.api.types import User


def _signed_in(field: StrawberryField) -> bool:
    return any(
        isinstance(extension, PermissionExtension)
        and any(isinstance(permission, SignedIn) for permission in extension.permissions)
        for extension in field.extensions
    )


def _reads_the_person(field: StrawberryField) -> bool:
    resolver = field.base_resolver
    if resolver is None:
        return False
    function: Any = resolver.wrapped_func
    source = inspect.getsource(function)
    return "signed_in_user(" in source or "signed_in_id(" in source


def test_every_root_field_but_signing_up_and_in_needs_a_person() -> None:
    open_fields = {
        field.python_name
        for cls in (Query, Mutation)
        for field in fields_of(cls)
        if not _signed_in(field)
    }
    # nodes() checks its id count first, then signs in through node()'s own read.
    assert open_fields == {"register", "login", "nodes"}


def test_a_resolver_reading_the_person_has_the_permission() -> None:
    for cls in (Query, Mutation, User):
        for field in fields_of(cls):
            if _reads_the_person(field):
                assert _signed_in(field), f"{cls.__name__}.{field.python_name}"


def test_your_stats_and_tags_need_you_signed_in() -> None:
    signed_in = {field.python_name for field in fields_of(User) if _signed_in(field)}
    assert signed_in == {"stats", "daily_stats", "tags"}
