"""GraphiQL at /graphql from files vendored in the package: no CDN, nothing
changed since scripts/vendor_graphiql.py wrote them, a licence for each package."""

import hashlib
import json
import re
from pathlib import Path

import httpx

from tests.support import RunningServer

VENDOR = Path(__file__).parents[2] / "focusgql" / "static" / "vendor" / "graphiql"
PINNED = {"react", "react-dom", "graphiql", "@graphiql/plugin-explorer"}


async def test_the_ide_loads_only_files_the_server_serves(server: RunningServer) -> None:
    async with httpx.AsyncClient(base_url=server.url) as http:
        page = await http.get("/graphql", headers={"accept": "text/html"})
        assert page.status_code == 200
        assert "unpkg" not in page.text and "cdn" not in page.text.lower().replace("no cdn", "")
        assets = re.findall(r'(?:src|href)="([^"]+)"', page.text)
        assert assets and all(asset.startswith("/static/") for asset in assets), assets
        assert "/static/vendor/graphiql/graphiql.min.js" in assets
        assert "/static/vendor/graphiql/plugin-explorer.umd.js" in assets
        for asset in assets:
            response = await http.get(asset)
            assert response.status_code == 200, asset
            kind = "css" if asset.endswith(".css") else "javascript"
            if not asset.endswith(".svg"):
                assert kind in response.headers["content-type"], asset
                assert "sourceMappingURL" not in response.text[-300:], asset


def test_the_vendored_files_are_the_ones_the_script_recorded() -> None:
    manifest = json.loads((VENDOR / "MANIFEST.json").read_text())
    assert set(manifest) == PINNED
    recorded: set[str] = set()
    for name, entry in manifest.items():
        assert re.fullmatch(r"\d+\.\d+\.\d+", entry["version"]), name
        assert entry["integrity"].startswith("sha512-"), name
        licences = [f for f in entry["files"] if f.startswith("licenses/")]
        assert len(licences) == 1, name
        assert "MIT License" in (VENDOR / licences[0]).read_text(), name
        for file, digest in entry["files"].items():
            assert hashlib.sha256((VENDOR / file).read_bytes()).hexdigest() == digest, file
            recorded.add(file)
    on_disk = {str(p.relative_to(VENDOR)) for p in VENDOR.rglob("*") if p.is_file()}
    assert on_disk - {"MANIFEST.json"} == recorded


def test_the_page_writes_nothing_into_its_url() -> None:
    # Strawberry's page keeps the query, variables and headers in `?...` with
    # history.replaceState; ours only ever removes a `headers` parameter.
    script = (VENDOR.parents[1] / "graphiql.js").read_text()
    assert script.count("replaceState") == 1
    assert 'params.delete("headers")' in script
    assert "location.search =" not in script and "pushState" not in script
