"""What `--sync-on-commit` costs the embedded SecantusDB, on the data directory's disk.

Two SecantusDB servers side by side, with and without the flag, each taking
the writes focusgql makes: journal appends (one document of ~90 signal
entries, what one commit window holds at 2,000 active people) one after the
other as the signal committer sends them, and single-session updates
(a pause, an end). Prints the latency of each and the ratio.

    .venv/bin/python bench/sync_commit.py            # 2,000 writes of each kind
    .venv/bin/python bench/sync_commit.py --quick    # 200
"""

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from pymongo import MongoClient

from focusgql.store.mongo import EmbeddedServer


def measure(sync: bool, count: int, where: Path) -> dict[str, list[float]]:
    server = EmbeddedServer(where / ("sync" if sync else "nosync"), sync_on_commit=sync)
    server.start()
    client: MongoClient[dict[str, object]] = MongoClient(server.uri)
    try:
        journal = client.bench.journal
        sessions = client.bench.sessions
        sessions.insert_many([{"_id": i, "version": 0} for i in range(100)])
        entries = [{"s": f"{i:024x}", "a": True, "t": i % 3} for i in range(90)]
        timings: dict[str, list[float]] = {"journal append": [], "session update": []}
        for n in range(count):
            began = time.perf_counter()
            journal.insert_one({"p": "proc", "q": n, "e": entries})
            timings["journal append"].append(time.perf_counter() - began)
            began = time.perf_counter()
            sessions.update_one({"_id": n % 100}, {"$inc": {"version": 1}})
            timings["session update"].append(time.perf_counter() - began)
        return timings
    finally:
        client.close()
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="200 writes of each kind")
    parser.add_argument("--dir", type=Path, default=Path(".focusgql"), help="disk to measure on")
    args = parser.parse_args()
    count = 200 if args.quick else 2000
    args.dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=args.dir) as where:
        off = measure(False, count, Path(where))
        on = measure(True, count, Path(where))
    print(f"{count} writes of each kind under {args.dir.resolve()}")
    print(f"{'':16} {'without p50/p99 ms':>20} {'with p50/p99 ms':>18} {'p50 ratio':>10}")
    for kind in off:

        def p(values: list[float], q: int) -> float:
            return statistics.quantiles(values, n=100)[q - 1] * 1000

        ratio = p(on[kind], 50) / p(off[kind], 50)
        print(
            f"{kind:16} {p(off[kind], 50):9.2f} /{p(off[kind], 99):7.2f}"
            f" {p(on[kind], 50):9.2f} /{p(on[kind], 99):6.2f} {ratio:9.1f}x"
        )


if __name__ == "__main__":
    main()
