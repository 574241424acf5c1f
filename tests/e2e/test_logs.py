"""`focusgql serve` logs: a request id on every request line, JSON when asked, no tokens."""

import asyncio
import json
import subprocess
import sys

import httpx

from focusgql.store.mongo import free_port
from tests.support import RunningServer, server_env


async def test_json_logs_carry_the_request_id_and_no_token(server: RunningServer) -> None:
    port = free_port()
    env = server_env(server.settings, FOCUSGQL_LOG_FORMAT="json", FOCUSGQL_LOG_LEVEL="info")
    process = subprocess.Popen(  # noqa: ASYNC220 - returns at once
        [sys.executable, "-m", "focusgql", "serve", "--port", str(port)],
        env=env,
        stdin=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
            async with asyncio.timeout(30):
                while True:
                    try:
                        await http.get("/health")
                        break
                    except httpx.HTTPError:
                        await asyncio.sleep(0.1)
            response = await http.get(
                "/health?token=secret-in-url", headers={"X-Request-ID": "trace-me-42"}
            )
            assert response.headers["x-request-id"] == "trace-me-42"
            fresh = await http.get("/health", headers={"X-Request-ID": "bad id <script>"})
            assert fresh.headers["x-request-id"] != "bad id <script>"
    finally:
        process.terminate()
        _, stderr = await asyncio.to_thread(process.communicate, timeout=15)
    lines = [json.loads(line) for line in stderr.decode().splitlines() if line.startswith("{")]
    assert lines, stderr.decode()[-2000:]
    traced = [line for line in lines if line.get("request_id") == "trace-me-42"]
    assert traced, "the access log line carries the request id"
    assert "secret-in-url" not in stderr.decode()
