"""GET /export.csv, /export.json and /export.ics: the signed-in person's sessions,
streamed (one row at a time) with the bearer token, like /graphql.

CSV opens in a spreadsheet (UTF-8 with a byte-order mark, which Excel needs to
read it as UTF-8; RFC 4180 quoting); JSON is one array of objects; the
calendar is RFC 5545, one busy event per ended session, built with the
icalendar package.
"""

import csv
import io
import json
import logging
from collections.abc import AsyncIterator, Callable
from datetime import datetime

from icalendar import Event
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from focusgql.api.context import bearer_token
from focusgql.domain.errors import Unauthenticated
from focusgql.domain.export import COLUMNS, Row, csv_cells
from focusgql.domain.user import User
from focusgql.services.accounts import AccountService
from focusgql.services.export import ExportService

log = logging.getLogger(__name__)

CALENDAR_HEAD = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//focusgql//export//EN\r\n"
CALENDAR_TAIL = "END:VCALENDAR\r\n"


def _csv_line(cells: list[object]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer).writerow(cells)
    return buffer.getvalue()


async def _csv(rows: AsyncIterator[Row]) -> AsyncIterator[str]:
    yield "\ufeff" + _csv_line(list(COLUMNS))
    async for row in rows:
        yield _csv_line(list(csv_cells(row)))


async def _json(rows: AsyncIterator[Row]) -> AsyncIterator[str]:
    yield "["
    first = True
    async for row in rows:
        yield ("" if first else ",") + json.dumps(row, ensure_ascii=False)
        first = False
    yield "]"


def _event(row: Row, host: str) -> str:
    event = Event()
    event.add("uid", f"{row['id']}@{host}")
    event.add("dtstamp", _instant(row["ended_at_utc"]))
    event.add("dtstart", _instant(row["started_at_utc"]))
    event.add("dtend", _instant(row["ended_at_utc"]))
    label = row["content_id"] or "Focus session"
    event.add("summary", f"{label} ({str(row['status']).lower()})")
    event.add("description", f"Focus score {row['focus_score']}, {row['active_seconds']} s active")
    if row["tags"]:
        event.add("categories", row["tags"])
    event.add("transp", "OPAQUE")
    return str(event.to_ical().decode())


def _instant(value: object) -> datetime:
    assert isinstance(value, str)
    return datetime.fromisoformat(value)


async def _ics(rows: AsyncIterator[Row], host: str) -> AsyncIterator[str]:
    yield CALENDAR_HEAD
    async for row in rows:
        if row["ended_at_utc"] is not None:
            yield _event(row, host)
    yield CALENDAR_TAIL


FORMATS: dict[str, tuple[str, Callable[[AsyncIterator[Row], str], AsyncIterator[str]]]] = {
    "csv": ("text/csv; charset=utf-8", lambda rows, host: _csv(rows)),
    "json": ("application/json", lambda rows, host: _json(rows)),
    "ics": ("text/calendar; charset=utf-8", _ics),
}


class ExportEndpoints:
    def __init__(self, accounts: AccountService, export: ExportService) -> None:
        self.accounts = accounts
        self.export = export

    async def _user(self, request: Request) -> User | None:
        token = bearer_token(request.headers.get("authorization"))
        if token is None:
            return None
        try:
            return await self.accounts.authenticate(token)
        except Unauthenticated:
            return None

    async def __call__(self, request: Request) -> Response:
        kind = request.path_params["kind"]
        if kind not in FORMATS:
            return JSONResponse({"error": "not found"}, status_code=404)
        user = await self._user(request)
        if user is None:
            return JSONResponse(
                {"error": "sign in first: send 'Authorization: Bearer <token>'"},
                status_code=401,
                headers={"WWW-Authenticate": "Bearer"},
            )
        media_type, render = FORMATS[kind]
        host = request.url.hostname or "focusgql"
        return StreamingResponse(
            render(self.export.rows(user), host),
            media_type=media_type,
            headers={
                "Content-Disposition": f'attachment; filename="focus-sessions.{kind}"',
                "Cache-Control": "no-store",
            },
        )
