"""Keep tokens that ride in URLs (`/graphql?token=…`) out of the logs.

uvicorn logs each request's path with its query string ("uvicorn.access") and
each WebSocket handshake's ("uvicorn.error"); a filter on those loggers
rewrites the record before any handler formats it.
"""

import logging
import re

REDACTED = "[redacted]"
LOGGERS = ("uvicorn.access", "uvicorn.error")

# A query parameter whose value is a credential: token=, access_token=, authorization=.
_CREDENTIAL = re.compile(
    r"(?P<name>(?:^|(?<=[?&;\s\"']))(?:access_token|token|authorization)=)[^&;\s\"']*",
    re.IGNORECASE,
)


def redact(text: str) -> str:
    return _CREDENTIAL.sub(lambda match: match["name"] + REDACTED, text)


def _clean(value: object) -> object:
    return redact(value) if isinstance(value, str) else value


class RedactTokens(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(_clean(arg) for arg in record.args)
        elif isinstance(record.args, dict):
            record.args = {key: _clean(value) for key, value in record.args.items()}
        return True


def install() -> None:
    """Add the filter to uvicorn's loggers, once (uvicorn configures them before the app)."""
    for name in LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactTokens) for f in logger.filters):
            logger.addFilter(RedactTokens())
