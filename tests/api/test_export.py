"""GET /export.csv, .json and .ics over real HTTP, read back with the standard
library's csv and json and the icalendar parser."""

import csv
import io
import json
from datetime import datetime, timedelta
from typing import Any

import httpx
import icalendar
from bson import ObjectId

from focusgql.domain.session import FocusSession
from focusgql.domain.timeline import Status, start
from focusgql.settings import Settings
from focusgql.store.mongo import make_client
from focusgql.store.sessions import to_fields
from tests.support import Client, ManualClock, RunningServer, create_session

CONTENT = 'chapter 3, "draft"\nsecond line'


async def get(server: RunningServer, token: str | None, kind: str) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with httpx.AsyncClient(base_url=server.url, timeout=60) as http:
        return await http.get(f"/export.{kind}", headers=headers)


async def test_export_in_three_formats(
    server: RunningServer, anonymous: Client, bob: Client, clock: ManualClock
) -> None:
    paris = await anonymous.register(timezone="Europe/Paris")
    ended = await create_session(
        paris, "id startedAt", contentId=CONTENT, tags=["Thesis", "é"], idleThresholdSeconds=3600
    )
    clock.advance(90)
    done = await paris.execute(
        "mutation($id: ID!) { endSession(id: $id) { endedAt activeSeconds focusScore } }",
        {"id": ended["id"]},
    )
    running = await create_session(paris, "id")
    clock.advance(5)
    await create_session(bob, "id")  # someone else's: never in Paris's export
    assert paris.token

    response = await get(server, paris.token, "csv")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert [r["id"] for r in rows] == [ended["id"], running["id"]]
    first = rows[0]
    assert first["content_id"] == CONTENT and first["tags"] == "thesis;é"
    assert first["status"] == "COMPLETED" and first["elapsed_seconds"] == "90"
    assert first["active_seconds"] == str(done["endSession"]["activeSeconds"])
    assert first["focus_score"] == str(done["endSession"]["focusScore"])
    started_utc = datetime.fromisoformat(first["started_at_utc"])
    started_local = datetime.fromisoformat(first["started_at_local"])
    assert started_utc == started_local and started_local.utcoffset() != timedelta(0)
    assert started_utc == datetime.fromisoformat(ended["startedAt"]).replace(microsecond=0)
    assert rows[1]["status"] == "ACTIVE" and rows[1]["ended_at_utc"] == ""
    assert rows[1]["elapsed_seconds"] == "5"

    response = await get(server, paris.token, "json")
    data: list[dict[str, Any]] = json.loads(response.content)
    assert [d["id"] for d in data] == [ended["id"], running["id"]]
    assert data[0]["tags"] == ["thesis", "é"] and data[0]["timezone"] == "Europe/Paris"
    assert data[1]["ended_at_utc"] is None and data[1]["focus_score"] is None

    response = await get(server, paris.token, "ics")
    assert response.headers["content-type"].startswith("text/calendar")
    calendar = icalendar.Calendar.from_ical(response.content)
    events = list(calendar.walk("VEVENT"))
    assert len(events) == 1  # only ended sessions are busy blocks
    (event,) = events
    assert event.decoded("dtstart") == started_utc
    ended_at = datetime.fromisoformat(done["endSession"]["endedAt"]).replace(microsecond=0)
    assert event.decoded("dtend") == ended_at
    assert CONTENT in str(event["summary"])
    assert str(event["uid"]).startswith(ended["id"])

    await paris.execute("mutation($id: ID!) { endSession(id: $id) { id } }", {"id": running["id"]})


async def test_export_needs_a_valid_token(server: RunningServer) -> None:
    for token in (None, "not-a-token"):
        for kind in ("csv", "json", "ics"):
            response = await get(server, token, kind)
            assert response.status_code == 401
            assert "Traceback" not in response.text
    assert (await get(server, None, "xml")).status_code == 404


async def test_a_large_export_is_streamed(
    server: RunningServer, settings: Settings, anonymous: Client, clock: ManualClock
) -> None:
    person = await anonymous.register()
    user_id = (await person.execute("{ me { id } }"))["me"]["id"]
    count = 3000
    base = clock.now() - timedelta(days=30)
    docs = []
    for i in range(count):
        at = base + timedelta(seconds=10 * i)
        session = FocusSession(
            id=str(ObjectId()),
            user_id=user_id,
            target_minutes=1,
            content_id=None,
            timeline=start(at, 15).end(at + timedelta(seconds=5), Status.COMPLETED),
            last_activity_at=at,
            last_signal_at=at,
            focus_score=8,
        )
        fields = to_fields(session, at + timedelta(seconds=5))
        docs.append(
            {"_id": ObjectId(session.id), "user_id": ObjectId(user_id), "version": 1, **fields}
        )
    assert settings.mongodb_uri
    client = make_client(settings.mongodb_uri)
    sessions = client[settings.database]["sessions"]
    try:
        await sessions.insert_many(docs)
        await check_streamed(server, person, docs)
    finally:
        # The collection is shared by the whole run: leave it as it was.
        await sessions.delete_many({"user_id": ObjectId(user_id)})
        await client.close()


async def check_streamed(server: RunningServer, person: Client, docs: list[dict[str, Any]]) -> None:
    chunks = 0
    body = bytearray()
    async with httpx.AsyncClient(base_url=server.url, timeout=60) as http:
        headers = {"Authorization": f"Bearer {person.token}"}
        async with http.stream("GET", "/export.csv", headers=headers) as response:
            assert "content-length" not in response.headers  # sent as it is made
            async for chunk in response.aiter_raw():
                chunks += 1
                body += chunk
    rows = list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"))))
    assert len(rows) == len(docs) and chunks > 1
    assert [r["id"] for r in rows] == [str(d["_id"]) for d in docs]
