"""The dashboard at / in headless Chromium, driven by playwright-core under Node
(tests/e2e/browser/), against a server on the real clock.

Needs Debian's Chromium at /usr/bin/chromium. As root, under CI or with
FOCUSGQL_INSTALL_BROWSER=1, the test installs it with apt-get; otherwise it
skips, saying how. Under CI it never skips."""

import csv
import io
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.test_graphql_ws_node import (
    check_node,
    in_ci,
    install_node_modules,
    run_node,
    unavailable,
)
from tests.support import Client, RunningServer

BROWSER_DIR = Path(__file__).parent / "browser"
CHROMIUM = Path(os.environ.get("FOCUSGQL_CHROMIUM", "/usr/bin/chromium"))
HOW = (
    "install it with `apt-get install chromium` (as root) and "
    "`npm ci --prefix tests/e2e/browser`, or run as root with FOCUSGQL_INSTALL_BROWSER=1"
)


def install_chromium() -> None:
    if CHROMIUM.exists():
        return
    may_install = os.geteuid() == 0 and (
        in_ci() or os.environ.get("FOCUSGQL_INSTALL_BROWSER") == "1"
    )
    if not may_install:
        unavailable(f"Chromium is not at {CHROMIUM}: {HOW}")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (
        ["apt-get", "update", "-q"],
        ["apt-get", "install", "-y", "-q", "-o", "DPkg::Lock::Timeout=300", "chromium"],
    ):
        done = subprocess.run(
            command, env=env, capture_output=True, text=True, timeout=900, check=False
        )
        if done.returncode != 0:
            pytest.fail(f"`{' '.join(command)}` failed:\n{done.stderr[-2000:]}", pytrace=False)
    if not CHROMIUM.exists():
        pytest.fail(f"apt-get installed chromium, yet {CHROMIUM} is missing", pytrace=False)


@pytest.fixture(scope="session")
def dashboard_driver() -> Path:
    """The browser script, with Chromium and playwright-core installed (sync, in setup)."""
    check_node()
    install_chromium()
    install_node_modules(BROWSER_DIR)
    return BROWSER_DIR / "dashboard.mjs"


async def drive_dashboard(server: RunningServer, script: Path) -> dict[str, Any]:
    env = {"CHROMIUM": str(CHROMIUM)}
    if screenshot := os.environ.get("FOCUSGQL_DASHBOARD_SCREENSHOT"):
        env["SCREENSHOT_LIVE"] = screenshot  # a picture of the page mid-session
    if shots := os.environ.get("FOCUSGQL_SCREENSHOTS"):  # make screenshots
        env["SCREENSHOT_LIVE"] = str(Path(shots) / "dashboard-desktop.png")
    return await run_node(script, server.url, env=env, limit=90)


async def test_the_page_and_its_assets_are_served(server: RunningServer) -> None:
    async with httpx.AsyncClient(base_url=server.url) as http:
        page = await http.get("/")
        assert page.status_code == 200
        assert page.headers["content-type"].startswith("text/html")
        assets = re.findall(r'(?:src|href)="(/static/[^"]+)"', page.text)
        assert sorted(assets) == ["/static/app.js", "/static/favicon.svg", "/static/style.css"]
        for asset in assets:
            response = await http.get(asset)
            assert response.status_code == 200, asset
        assert "javascript" in (await http.get("/static/app.js")).headers["content-type"]
        assert (await http.get("/static/%2e%2e/app.py")).status_code == 404
        graphiql = await http.get("/graphql", headers={"accept": "text/html"})
        assert graphiql.status_code == 200 and "graphiql" in graphiql.text.lower()


@pytest.mark.slow
async def test_a_session_in_the_dashboard(
    live_server: RunningServer, dashboard_driver: Path
) -> None:
    out = await drive_dashboard(live_server, dashboard_driver)
    assert out["consoleErrors"] == []

    assert out["signInError"], "a failed sign-in shows the server's message"
    assert out["who"].startswith("browser-")
    assert out["errorHiddenAfterStart"]

    # The counter follows the subscription's ticks over ~3 s of real time.
    samples: list[int] = out["samples"]
    assert samples == sorted(samples), samples
    assert samples[-1] - samples[0] >= 2, samples
    # Mouse moves all along: activity goes out, at most once a second.
    assert 1 <= out["activityDuringMouse"] <= int(out["mouseSeconds"]) + 1, out

    # Focus time in the stats includes the running session's active seconds.
    assert out["liveFocus"] != "0:00", out["liveFocus"]
    # The daily goal (1 minute, set on the page) and today's progress toward it.
    assert re.fullmatch(r"Today: 0:0[1-9] of your 1:00 goal\.", out["goalProgress"]), out
    assert out["history"][0][1] == "e2e chapter #e2e #reading", out["history"]
    # The progress bar is a bar, not a hairline, and it moves.
    assert out["progress"]["height"] >= 8 and out["progress"]["fill"] > 0, out["progress"]
    assert out["progress"]["now"] >= 1, out["progress"]
    # Before the target the page offers finishing early and giving up.
    assert out["beforeTarget"] == {"end": "Finish early", "giveUp": True}

    assert (out["pausedStatus"], out["resumedStatus"]) == ("Paused", "Active")
    assert out["live"]["tab-switches"] == "1"
    assert out["live"]["status"] == "Active"
    assert out["tabSwitchesAfterReloads"] == "1", "a reload is not a tab switch"

    # Ended seconds into a 1-minute target: said as such, not as a completion.
    assert out["resultStatus"] == "Finished early"
    assert "before its target" in out["resultNote"]
    assert re.fullmatch(r"\d{1,3}", out["finalScore"]), out["finalScore"]
    b = out["breakdown"]
    assert b["tab-switch-penalty"] == "\u22122.0"
    assert b["breakdown-score"] == out["finalScore"]
    # The parts visibly add up: base = 100 x completion x activity, minus penalties.
    base = float(b["base"])
    completion, activity = (float(b[k].rstrip("%")) / 100 for k in ("completion", "activity-ratio"))
    assert abs(base - 100 * completion * activity) <= 0.6, b
    assert b["breakdown-sum"].startswith(f"({b['base']} \u2212 2.0 \u2212 "), b
    assert out["stats"]["total-sessions"] == "1"
    # Ended a few seconds into a 1-minute target: no streak day (domain/streaks.py).
    assert out["stats"]["current-streak"] == "0 days"
    assert len(out["history"]) == 1 and out["history"][0][4] == "completed"
    # The export link downloads the CSV with the token the page holds.
    exported = list(csv.DictReader(io.StringIO(out["exportCsv"].lstrip("\ufeff"))))
    assert [(r["content_id"], r["tags"], r["status"]) for r in exported] == [
        ("e2e chapter", "e2e;reading", "COMPLETED")
    ]

    # What the page showed is what the server stored.
    async with httpx.AsyncClient(base_url=live_server.url, timeout=30) as http:
        person = Client(http, out["token"])
        data = await person.execute(
            "{ sessions(first: 1) { edges { node { status focusScore tabSwitches contentId } } } }"
        )
    stored = data["sessions"]["edges"][0]["node"]
    assert stored == {
        "status": "COMPLETED",
        "focusScore": int(out["finalScore"]),
        "tabSwitches": 1,
        "contentId": "e2e chapter",
    }
    assert out["stats"]["last-score"] == out["finalScore"]
