"""The driver's errors turned into the domain's, once, at the store's edge.

Every repository's public async methods (and async generators) raise
DatabaseUnavailable for an outage (the database away, stalled or failing)
and DatabaseError for any other PyMongoError, each chained from the driver's
error: the services and the API never need PyMongo to tell them apart, and
the outage log (focusgql/faults.py) still names what the driver said.
"""

import functools
import inspect
from collections.abc import AsyncGenerator, Awaitable, Callable
from typing import Any, TypeVar

from pymongo.errors import ConnectionFailure, OperationFailure, PyMongoError

from focusgql.domain.errors import DatabaseError, DatabaseUnavailable

C = TypeVar("C", bound=type)
F = TypeVar("F", bound=Callable[..., Any])

_RAW = "__raises_driver_errors__"

FAILING_CODES = frozenset({1, 14031})
"""InternalError (what SecantusDB answers once WiredTiger has panicked, as it
does when its disk fills) and OutOfDiskSpace (MongoDB's): the database's
fault, not the request's."""


def is_outage(error: BaseException) -> bool:
    # A stalled server raises NetworkTimeout (a ConnectionFailure); a deadline
    # spent before a command could go out, or the server's maxTimeMS, raises
    # ExecutionTimeout, which is an OperationFailure: both carry `timeout`.
    if isinstance(error, ConnectionFailure):
        return True
    if isinstance(error, OperationFailure) and error.code in FAILING_CODES:
        return True
    return isinstance(error, PyMongoError) and error.timeout


def translated(error: BaseException) -> BaseException:
    """The domain's error for a driver's (chained from it); any other error as it is."""
    if not isinstance(error, PyMongoError):
        return error
    domain = DatabaseUnavailable() if is_outage(error) else DatabaseError(str(error))
    domain.__cause__ = error
    return domain


def _coroutine(method: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
    @functools.wraps(method)
    async def translating(*args: Any, **kwargs: Any) -> Any:
        try:
            return await method(*args, **kwargs)
        except PyMongoError as error:
            raise translated(error) from error

    return translating


def _generator(
    method: Callable[..., AsyncGenerator[Any, None]],
) -> Callable[..., AsyncGenerator[Any, None]]:
    @functools.wraps(method)
    async def translating(*args: Any, **kwargs: Any) -> AsyncGenerator[Any, None]:
        inner = method(*args, **kwargs)
        try:
            async for item in inner:
                yield item
        except PyMongoError as error:
            raise translated(error) from error
        finally:
            # A consumer that stops early closes this; the inner cursor goes with it.
            await inner.aclose()

    return translating


def driver_errors(method: F) -> F:
    """Leaves a method of a `domain_errors` class raising the driver's errors:
    for the store's own code only (a change feed reads what the error says)."""
    setattr(method, _RAW, True)
    return method


def domain_errors(cls: C) -> C:
    """Class decorator: the public async methods and async generators defined on
    `cls` raise the domain's errors instead of the driver's (but for those
    marked `driver_errors`). Plain methods do no I/O and are left alone."""
    for name, member in list(vars(cls).items()):
        if name.startswith("_") or getattr(member, _RAW, False):
            continue
        if inspect.isasyncgenfunction(member):
            setattr(cls, name, _generator(member))
        elif inspect.iscoroutinefunction(member):
            setattr(cls, name, _coroutine(member))
    return cls
