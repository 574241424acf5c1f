"""Vendors GraphiQL into focusgql/static/vendor/graphiql/ from the npm registry.

    python scripts/vendor_graphiql.py        (or: make graphiql)

The page at /graphql loads nothing from a CDN: the minified UMD builds of the
packages pinned below are copied from their npm tarballs (fetched with `npm pack`,
which checks each tarball's integrity), with their licences, and MANIFEST.json
records every file's source and SHA-256 (tests/api/test_graphiql.py checks them).
To update: change a version below, run the script, and run the GraphiQL tests.
React stays on 18: React 19 ships no UMD build, and GraphiQL 5 no UMD build either.
"""

import hashlib
import json
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET = ROOT / "focusgql" / "static" / "vendor" / "graphiql"

# npm package -> (version, {file in the tarball: file name here}).
PACKAGES: dict[str, tuple[str, dict[str, str]]] = {
    "react": ("18.3.1", {"umd/react.production.min.js": "react.production.min.js"}),
    "react-dom": ("18.3.1", {"umd/react-dom.production.min.js": "react-dom.production.min.js"}),
    "graphiql": (
        "4.1.2",
        {"graphiql.min.js": "graphiql.min.js", "graphiql.min.css": "graphiql.min.css"},
    ),
    "@graphiql/plugin-explorer": (
        "4.0.6",
        {"dist/index.umd.js": "plugin-explorer.umd.js", "dist/style.css": "plugin-explorer.css"},
    ),
}
# The explorer's tarball has no licence file; its repository's (graphql/graphiql) is MIT.
LICENCE_NAMES = ("LICENSE", "LICENSE.md", "LICENSE.txt", "license")


def _strip_source_map(data: bytes) -> bytes:
    """The .map files are not vendored: drop the comment that would ask for them."""
    lines = data.rstrip(b"\n").split(b"\n")
    if lines and lines[-1].startswith((b"//# sourceMappingURL=", b"/*# sourceMappingURL=")):
        lines.pop()
    return b"\n".join(lines) + b"\n"


def _pack(name: str, version: str, into: Path) -> tuple[Path, str]:
    done = subprocess.run(
        ["npm", "pack", f"{name}@{version}", "--json", "--pack-destination", str(into)],
        capture_output=True,
        text=True,
        check=True,
    )
    info = json.loads(done.stdout)[0]
    return into / info["filename"], info["integrity"]


def main() -> int:
    manifest: dict[str, object] = {}
    with tempfile.TemporaryDirectory() as scratch:
        fresh = Path(scratch) / "graphiql"
        (fresh / "licenses").mkdir(parents=True)
        for name, (version, files) in PACKAGES.items():
            tarball, integrity = _pack(name, version, Path(scratch))
            with tarfile.open(tarball) as archive:
                members = {m.name.removeprefix("package/"): m for m in archive.getmembers()}
                recorded: dict[str, str] = {}
                for source, target in files.items():
                    handle = archive.extractfile(members[source])
                    assert handle is not None, source
                    data = _strip_source_map(handle.read())
                    (fresh / target).write_bytes(data)
                    recorded[target] = hashlib.sha256(data).hexdigest()
                licence = next((members[n] for n in LICENCE_NAMES if n in members), None)
                licence_file = "licenses/" + name.replace("/", "__").lstrip("@") + ".txt"
                if licence is not None:
                    handle = archive.extractfile(licence)
                    assert handle is not None
                    (fresh / licence_file).write_bytes(handle.read())
                else:  # the same MIT licence as graphiql's (one repository)
                    shutil.copy(fresh / "licenses" / "graphiql.txt", fresh / licence_file)
                recorded[licence_file] = hashlib.sha256(
                    (fresh / licence_file).read_bytes()
                ).hexdigest()
            manifest[name] = {"version": version, "integrity": integrity, "files": recorded}
        (fresh / "MANIFEST.json").write_text(json.dumps(manifest, indent=2) + "\n")
        if TARGET.exists():
            shutil.rmtree(TARGET)
        TARGET.parent.mkdir(parents=True, exist_ok=True)
        shutil.copytree(fresh, TARGET)
    for name, entry in manifest.items():
        print(f"{name}@{entry['version']}")  # type: ignore[index]
    return 0


if __name__ == "__main__":
    sys.exit(main())
