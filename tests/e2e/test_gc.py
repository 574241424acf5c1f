"""`focusgql serve` freezes what it loaded at startup and reports its GC pauses."""

import httpx

from focusgql.settings import Settings
from tests.api.test_metrics import sample
from tests.support import spawn


async def metrics_of(url: str) -> str:
    async with httpx.AsyncClient(base_url=url) as http:
        response = await http.get("/metrics")
    assert response.status_code == 200
    return response.text


async def test_serve_freezes_startup_objects_and_times_collections(settings: Settings) -> None:
    async with spawn(settings) as server:
        text = await metrics_of(server.url)
    # Modules, the schema and library state: tens of thousands of objects at least.
    assert sample(text, "focusgql_gc_frozen_objects") > 20_000
    # The collection before freezing is the first full one, timed like any other.
    assert sample(text, 'focusgql_gc_pause_seconds_count{generation="2"}') >= 1


async def test_freezing_can_be_turned_off(settings: Settings) -> None:
    async with spawn(settings, FOCUSGQL_GC_FREEZE="false") as server:
        text = await metrics_of(server.url)
    assert sample(text, "focusgql_gc_frozen_objects") == 0
