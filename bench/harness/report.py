"""The figures as rows and verdicts, the same for every benchmark."""

import argparse

from harness.levels import Level


def fmt(value: float, digits: int = 0) -> str:
    if value != value:  # nan
        return "-"
    return f"{value:.{digits}f}"


HEADER = (
    f"{'server':<9} {'N':>5} {'subs':>5} {'msgs/s':>7} {'p50 ms':>7} {'p99 ms':>7} "
    f"{'max ms':>7} {'skip':>6} {'dup':>5} {'CPU%':>5} {'us/msg':>6} {'RSS/sub KB':>10} "
    f"{'client%':>7} {'db%':>4} {'noise s/c/o%':>12} {'ramp s':>6} {'GC2 n/ms':>8}  verdict"
)


def verdict_of(level: Level) -> str:
    """ok or what failed, and whether the client or a retry taints it."""
    verdict = "ok" if level.ok else "FAIL: " + ", ".join(level.problems)
    if level.client_bound:
        verdict += " (client-bound)"
    if level.attempts > 1:
        verdict += f" (attempt {level.attempts})"
    return verdict


def noise_of(level: Level) -> str:
    """The noise s/c/o% column."""
    return f"{fmt(level.server_wait_pct)}/{fmt(level.client_wait_pct)}/{fmt(level.foreign_pct)}"


def row(level: Level) -> str:
    verdict, noise = verdict_of(level), noise_of(level)
    return (
        f"{level.server:<9} {level.n:>5} {level.connected:>5} {fmt(level.msgs_per_s):>7} "
        f"{fmt(level.percentile(0.5)):>7} {fmt(level.percentile(0.99)):>7} "
        f"{fmt(level.max_ms):>7} {level.skipped:>6} {level.duplicated:>5} "
        f"{fmt(level.cpu_pct):>5} {fmt(level.us_per_msg):>6} {fmt(level.rss_per_sub_kb, 1):>10} "
        f"{fmt(level.client_cpu_pct):>7} {fmt(level.db_cpu_pct):>4} {noise:>12} "
        f"{fmt(level.ramp_seconds):>6} {gc_column(level):>8}  {verdict}"
    )


def gc_column(level: Level) -> str:
    """Full collections in the window: how many / the longest pause in ms."""
    if not level.full_gcs:
        return "0"
    return f"{len(level.full_gcs)}/{max(pause for _, pause in level.full_gcs) * 1000:.0f}"


def stall_line(level: Level) -> str | None:
    """Where a level's late ticks came from: its stalls next to its full GCs."""
    if not level.stalls:
        return None
    stalls = ", ".join(f"{second} s: {ms} ms" for second, ms in level.stalls[:8])
    more = f" (+{len(level.stalls) - 8} more)" if len(level.stalls) > 8 else ""
    gcs = ", ".join(f"{at:.1f} s: {pause * 1000:.0f} ms" for at, pause in level.full_gcs[:8])
    return (
        f"    {level.server} {level.n}: seconds with a tick > 250 ms late {stalls}{more}; "
        f"full GCs began at {gcs or 'none'}"
    )


def sustained(levels: list[Level], server: str) -> tuple[int, str]:
    best, note = 0, ""
    for level in (lv for lv in levels if lv.server == server):
        if not level.ok:
            if level.client_bound:
                note = f" (failed at {level.n} client-bound: the server may do better)"
            else:
                note = f" (failed at {level.n})"
            break
        best = level.n
        if level.client_bound:
            note = " (client-bound at the top level: a lower bound)"
    else:
        if best:
            note = note or " (passed every level: a lower bound)"
    return best, note


def cpu_summary(levels: list[Level], args: argparse.Namespace) -> list[str]:
    """CPU per tick at each N both servers ran: a comparison that noise barely moves."""
    by_server = {s: {lv.n: lv for lv in levels if lv.server == s} for s in args.servers}
    if set(by_server) != {"focusgql", "bare"}:
        return []
    common = sorted(set(by_server["focusgql"]) & set(by_server["bare"]))
    pairs = [
        (n, by_server["focusgql"][n].us_per_msg, by_server["bare"][n].us_per_msg) for n in common
    ]
    pairs = [(n, f, b) for n, f, b in pairs if f == f and b == b]
    if not pairs:
        return []
    lines = [
        "server CPU per delivered tick, focusgql / bare (us): "
        + ", ".join(f"N={n}: {f:.0f} / {b:.0f} ({b / f:.1f}x)" for n, f, b in pairs)
    ]
    projected = []
    for server in ("focusgql", "bare"):
        top = max(by_server[server].values(), key=lambda lv: lv.n if lv.messages else -1)
        if top.messages:
            projected.append(f"{server} ~{0.85e6 / top.us_per_msg:,.0f} (from N={top.n})")
    lines.append(
        "subscriptions one core could tick at 85% CPU, projected from CPU per tick: "
        + ", ".join(projected)
        + " -- ignores GC pauses and queueing, so an upper bound"
    )
    return lines
