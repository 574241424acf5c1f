"""The command line as a person runs it."""

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import httpx

from focusgql import __version__
from tests.support import Client, RunningServer, server_env, spawn

ROOT = Path(__file__).parents[2]


def focusgql(*args: str, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "focusgql", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=True,
    )
    return done.stdout


def test_version_and_schema_export() -> None:
    assert focusgql("--version").strip() == f"focusgql {__version__}"
    assert focusgql("export-schema") == (ROOT / "schema.graphql").read_text()


async def test_token_mints_a_working_token_for_an_existing_user(
    server: RunningServer, anonymous: Client
) -> None:
    email = "cli-token@example.com"
    await anonymous.execute(
        "mutation($e: String!, $p: String!) "
        "{ register(input: {email: $e, password: $p}) { token } }",
        {"e": email, "p": "correct horse battery"},
    )
    env = server_env(server.settings)
    token = (await asyncio.to_thread(focusgql, "token", "--email", email.upper(), env=env)).strip()
    async with spawn(server.settings) as process, httpx.AsyncClient(base_url=process.url) as http:
        me = await Client(http, token).execute("{ me { email } }")
    assert me["me"]["email"] == email


def test_a_malformed_setting_stops_serve_with_a_message_not_a_traceback() -> None:
    env = {**os.environ, "FOCUSGQL_GC_THRESHOLDS": "700,100", "FOCUSGQL_PORT": "eighty"}
    done = subprocess.run(
        [sys.executable, "-m", "focusgql", "serve"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert "FOCUSGQL_GC_THRESHOLDS: Value error, three comma-separated integers" in done.stderr
    assert "FOCUSGQL_PORT: Input should be a valid integer" in done.stderr
