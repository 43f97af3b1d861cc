"""Time pages in one process, next to the raw SQL for the same question, on the same database.

    python -m bench.run --scale audit-1m --user director --repeat 30

For each case: ``--warmup`` untimed requests, then ``--repeat`` timed ones through
``django.test.Client`` signed in as the user (once). Per request it records the server time
(``time.perf_counter`` around the whole request: middleware, view, SQL, template), the time spent
inside ``cursor.execute`` and the number of queries (``connection.execute_wrapper``). Then the
case's raw SQL runs the same number of times through ``connection.cursor()`` (execute + fetchall).
Results go to ``<out>/<scale>-<vendor>.json`` and ``.md``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import time
import tracemalloc
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.cases import SUITES, Case, Context
from bench.scales import SCALES, get_scale

RESULTS_DIR = Path(__file__).resolve().parent / "results"


def percentile(values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile: the smallest value with at least ``pct`` % of values at or below it."""
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[rank - 1]


def summary_ms(seconds: Sequence[float]) -> dict[str, float]:
    ms = [s * 1000 for s in seconds]
    return {
        "p50": round(percentile(ms, 50), 3),
        "p95": round(percentile(ms, 95), 3),
        "min": round(min(ms), 3),
        "max": round(max(ms), 3),
        "mean": round(statistics.fmean(ms), 3),
    }


@dataclass
class SqlTimer:
    """A ``connection.execute_wrapper``: counts queries and the time spent executing them.

    On SQLite, rows after the first are stepped through while Django fetches them, outside
    ``execute``: SQL time is then a lower bound (the raw SQL column times execute + fetchall)."""

    count: int = 0
    seconds: float = 0.0
    statements: list[tuple[str, Any, float]] = field(default_factory=list)

    def reset(self) -> None:
        self.count, self.seconds, self.statements = 0, 0.0, []

    def __call__(self, execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any) -> Any:
        start = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            elapsed = time.perf_counter() - start
            self.count += 1
            self.seconds += elapsed
            self.statements.append((sql, params, elapsed))


def _signed_in_client(user: Any) -> Any:
    from django.test import Client

    client = Client()
    client.force_login(user)
    _touch_session(client)
    return client


def _touch_session(client: Any) -> None:
    """What ``signin.sign_in`` adds to a session; refreshed before each case so that the
    once-a-minute "last seen" write (SessionPolicyMiddleware) does not land inside a timed run."""
    session = client.session
    now = time.time()
    session.setdefault("bridge_auth_at", now)
    session["bridge_last_seen"] = now
    session.save()


def _explain(sql: str, params: Any) -> list[str]:
    from django.db import connection

    prefix = "EXPLAIN QUERY PLAN " if connection.vendor == "sqlite" else "EXPLAIN "
    try:
        with connection.cursor() as cursor:
            cursor.execute(prefix + sql, params)
            rows = cursor.fetchall()
    except Exception as exc:  # an EXPLAIN that fails must not sink the run
        return [f"(EXPLAIN failed: {exc})"]
    if connection.vendor == "sqlite":
        return [f"{r[0]}|{r[1]}| {r[3]}" for r in rows]
    return [r[0] for r in rows]


def _get(client: Any, url: str) -> tuple[int, int]:
    """GET ``url`` and read the whole body, a streamed one too (the test client closes a streamed
    response once its content has been read): (status, bytes)."""
    response = client.get(url)
    size = sum(len(chunk) for chunk in response.streaming_content) if response.streaming else len(response.content)
    return response.status_code, size


def _peak_memory(client: Any, url: str) -> dict[str, float]:
    """One more request under tracemalloc: the peak of Python's allocations while it ran (and
    streamed), in MiB; plus the process's peak RSS so far (ru_maxrss), for reference."""
    import resource

    gc.collect()
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        start = time.perf_counter()
        _get(client, url)
        elapsed = time.perf_counter() - start
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    rss_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "peak_traced_mib": round(peak / 2**20, 1),
        "process_max_rss_mib": round(rss_kib / 1024, 1),
        "traced_request_ms": round(elapsed * 1000, 1),
    }


def measure_case(case: Case, client: Any, *, repeat: int, warmup: int, fresh_connection: bool) -> dict[str, Any]:
    from django.db import connection

    if case.repeat is not None:
        repeat, warmup = case.repeat, 0  # long cases (exports): no warm-up beyond the first case's
    _touch_session(client)
    timer = SqlTimer()
    totals: list[float] = []
    cpu: list[float] = []
    sql_times: list[float] = []
    counts: list[int] = []
    slowest: tuple[str, Any, float] = ("", None, -1.0)
    statements: list[str] = []
    status = 0
    size = 0
    gc.collect()
    with connection.execute_wrapper(timer):
        for i in range(warmup + repeat):
            if fresh_connection:
                connection.close()  # as a server with CONN_MAX_AGE = 0: a new connection per request
            timer.reset()
            cpu_start = time.thread_time()
            start = time.perf_counter()
            status, size = _get(client, case.url)
            elapsed = time.perf_counter() - start
            cpu_elapsed = time.thread_time() - cpu_start
            if status != 200:
                raise RuntimeError(f"{case.name}: GET {case.url} answered {status}")
            if i < warmup:
                continue
            totals.append(elapsed)
            cpu.append(cpu_elapsed)
            sql_times.append(timer.seconds)
            counts.append(timer.count)
            statements = [s for s, _p, _t in timer.statements]
            top = max(timer.statements, key=lambda s: s[2], default=slowest)
            if top[2] > slowest[2]:
                slowest = top
    raw: dict[str, Any] | None = None
    if case.raw_sql:
        raw_times: list[float] = []
        rows = 0
        with connection.cursor() as cursor:
            for i in range(warmup + repeat):
                start = time.perf_counter()
                cursor.execute(case.raw_sql, list(case.raw_params))
                rows = len(cursor.fetchall())
                if i >= warmup:
                    raw_times.append(time.perf_counter() - start)
        raw = {
            "sql": case.raw_sql,
            "params": [str(p) for p in case.raw_params],
            "rows": rows,
            "ms": summary_ms(raw_times),
            "plan": _explain(case.raw_sql, list(case.raw_params)),
        }
    memory = _peak_memory(client, case.url) if case.measure_memory else None
    query_counts = Counter(counts)
    total_ms = summary_ms(totals)
    sql_ms = summary_ms(sql_times)
    result: dict[str, Any] = {
        "name": case.name,
        "url": case.url,
        "user": case.user,
        "status": status,
        "bytes": size,
        "queries": query_counts.most_common(1)[0][0],
        "queries_min": min(counts),
        "queries_max": max(counts),
        "total_ms": total_ms,
        "sql_ms": sql_ms,
        "cpu_ms": summary_ms(cpu),
        "raw": raw,
        "ratio_p50": round(total_ms["p50"] / raw["ms"]["p50"], 1) if raw and raw["ms"]["p50"] else None,
        "ratio_p95": round(total_ms["p95"] / raw["ms"]["p95"], 1) if raw and raw["ms"]["p95"] else None,
        "budget_ms": case.budget_ms,
        "within_budget": None if case.budget_ms is None else total_ms["p95"] <= case.budget_ms,
        "same_queries": case.same_queries,
        "repeat": repeat,
        "memory": memory,
        "note": case.note,
        "statements": statements,
        "slowest_statement": {
            "sql": slowest[0],
            "ms": round(slowest[2] * 1000, 3),
            "plan": _explain(slowest[0], slowest[1]) if slowest[0].lstrip().upper().startswith("SELECT") else [],
        },
    }
    return result


def _git_commit() -> str:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],  # noqa: S607
            capture_output=True,
            text=True,
            check=True,
            cwd=Path(__file__).resolve().parent,
        )
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],  # noqa: S607
            capture_output=True,
            text=True,
            check=True,
            cwd=Path(__file__).resolve().parent,
        )
        return out.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def _load() -> list[float]:
    """The 1-minute load average: other work on the machine shows in the figures."""
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return []


def _database_label() -> str:
    from django.db import connection

    if connection.vendor == "sqlite":
        import sqlite3

        return f"SQLite {sqlite3.sqlite_version}"
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SHOW server_version")
            return f"PostgreSQL {cursor.fetchone()[0]}"
    return connection.vendor


def load_cases_file(path: Path) -> list[Case]:
    """A JSON list of {"name", "url", "raw_sql"?, "raw_params"?, "user"?, "budget_ms"?, "same_queries"?}."""
    data = json.loads(path.read_text())
    return [Case(**{**item, "raw_params": tuple(item.get("raw_params", ()))}) for item in data]


def run(
    *,
    scale: str,
    username: str = "director",
    repeat: int = 30,
    warmup: int = 3,
    suites: Sequence[str] = tuple(SUITES),
    cases_file: Path | None = None,
    only: str = "",
    out_dir: Path = RESULTS_DIR,
    fresh_connection: bool | None = None,
    log: Callable[[str], None] = lambda m: print(m, flush=True),
) -> dict[str, Any]:
    """Measure every case and write ``<out_dir>/<scale>-<vendor>.json`` and ``.md``."""
    from django.conf import settings
    from django.db import connection

    from bridgecrm.users.models import User

    if "testserver" not in settings.ALLOWED_HOSTS and "*" not in settings.ALLOWED_HOSTS:
        settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]  # the test client's host name
    if fresh_connection is None:
        # Mirror the server: SQLite's settings keep no persistent connection, PostgreSQL's do.
        fresh_connection = connection.settings_dict.get("CONN_MAX_AGE", 0) == 0
    if connection.in_atomic_block:
        fresh_connection = False  # inside a test's transaction: never close the connection
    user = User.objects.get(username=username)
    ctx = Context(user=user, vendor=connection.vendor)
    cases: list[Case] = []
    for suite in suites:
        cases.extend(SUITES[suite](ctx))
    if cases_file is not None:
        cases.extend(load_cases_file(cases_file))
    if only:
        cases = [c for c in cases if only.lower() in c.name.lower()]
    clients: dict[str, Any] = {}
    results = []
    load_before = _load()
    for case in cases:
        if case.skip:
            results.append(
                {"name": case.name, "url": case.url, "skipped": case.skip, "budget_ms": case.budget_ms}
                | {"within_budget": None, "same_queries": "", "note": case.note}
            )
            log(f"{case.name:40} skipped: {case.skip}")
            continue
        who = case.user or username
        if who not in clients:
            clients[who] = _signed_in_client(user if who == username else User.objects.get(username=who))
        result = measure_case(case, clients[who], repeat=repeat, warmup=warmup, fresh_connection=fresh_connection)
        result["user"] = who
        results.append(result)
        raw_p95 = result["raw"]["ms"]["p95"] if result["raw"] else float("nan")
        if result["memory"]:
            log(f"{'':40} peak traced memory {result['memory']['peak_traced_mib']} MiB")
        log(
            f"{case.name:40} q={result['queries']:<3} p50={result['total_ms']['p50']:7.2f}"
            f" p95={result['total_ms']['p95']:7.2f} cpu95={result['cpu_ms']['p95']:7.2f}"
            f" sql95={result['sql_ms']['p95']:7.2f}"
            f" raw95={raw_p95:7.2f} ms"
        )
    groups: dict[str, dict[str, int]] = {}
    for r in results:
        if r["same_queries"] and not r.get("skipped"):
            groups.setdefault(r["same_queries"], {})[r["name"]] = r["queries"]
    report = {
        "scale": scale,
        "vendor": connection.vendor,
        "database": _database_label(),
        "user": username,
        "repeat": repeat,
        "warmup": warmup,
        "fresh_connection_per_request": fresh_connection,
        "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "commit": _git_commit(),
        "python": platform.python_version(),
        "django": __import__("django").get_version(),
        "machine": f"{platform.machine()}, {platform.system()} {platform.release()}, {os.cpu_count()} CPUs",
        "load_average": {"before": load_before, "after": _load()},
        "facts": ctx.facts,
        "query_count_groups": {
            key: {"counts": counts, "constant": len(set(counts.values())) == 1} for key, counts in groups.items()
        },
        "cases": results,
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = f"{scale}-{connection.vendor}"
    (out_dir / f"{stem}.json").write_text(json.dumps(report, indent=2, ensure_ascii=False, default=str) + "\n")
    (out_dir / f"{stem}.md").write_text(markdown(report))
    log(f"wrote {out_dir / stem}.json and .md")
    return report


def _ms(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}"


def markdown(report: dict[str, Any]) -> str:
    rows = report["facts"].get("audit_rows")
    lines = [
        f"# Bench: {report['scale']} on {report['database']}",
        "",
        (f"{rows:,} audit rows · " if rows else "")
        + (
            f"{report['facts']['customers']:,} customers, {report['facts']['contacts']:,} contacts,"
            f" {report['facts']['deals']:,} deals · "
            if "customers" in report["facts"]
            else ""
        )
        + f"signed in as `{report['user']}` · {report['repeat']} timed requests per case after "
        f"{report['warmup']} warm-up · {report['when']} · commit {report['commit']} · "
        f"Django {report['django']}, Python {report['python']} · {report['machine']}, load average "
        f"{'/'.join(map(str, report['load_average']['before']))} before, "
        f"{'/'.join(map(str, report['load_average']['after']))} after",
        "",
        "| case | queries | p50 ms | p95 ms | CPU p95 | SQL p50 | SQL p95 | raw SQL p50 | raw SQL p95"
        " | page ÷ raw (p50) | budget |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in report["cases"]:
        if r.get("skipped"):
            budget = "" if r["budget_ms"] is None else f"≤ {r['budget_ms']:.0f}"
            lines.append(f"| {r['name']} | — | skipped | | | | | | | | {budget} |")
            continue
        raw = r["raw"]["ms"] if r["raw"] else {}
        queries = str(r["queries"]) + ("" if r["queries_min"] == r["queries_max"] else "*")
        budget = "" if r["budget_ms"] is None else ("✅" if r["within_budget"] else "❌") + f" ≤ {r['budget_ms']:.0f}"
        ratio = "—" if r["ratio_p50"] is None else f"{r['ratio_p50']:.1f}×"
        lines.append(
            f"| {r['name']} | {queries} | {_ms(r['total_ms']['p50'])} | {_ms(r['total_ms']['p95'])} "
            f"| {_ms(r['cpu_ms']['p95'])} "
            f"| {_ms(r['sql_ms']['p50'])} | {_ms(r['sql_ms']['p95'])} | {_ms(raw.get('p50'))} "
            f"| {_ms(raw.get('p95'))} | {ratio} | {budget} |"
        )
    lines.append("")
    for r in report["cases"]:
        if r.get("skipped"):
            lines.append(f"- Skipped: {r['name']}: {r['skipped']}.")
        elif r.get("memory"):
            m = r["memory"]
            lines.append(
                f"- Memory, {r['name']}: peak of Python allocations during one request {m['peak_traced_mib']} MiB"
                f" (tracemalloc; {r['bytes']:,} bytes sent); process peak RSS so far {m['process_max_rss_mib']} MiB."
            )
    for key, group in report["query_count_groups"].items():
        counts = ", ".join(f"{name}: {n}" for name, n in group["counts"].items())
        verdict = "constant" if group["constant"] else "NOT constant"
        lines.append(f"- Query count across page sizes ({key}): {counts} — {verdict}.")
    lines += [
        "",
        "p50/p95: server time (wall clock) of the whole request in-process (django.test.Client: middleware, "
        "view, SQL, template), nearest-rank percentiles, in ms. CPU: this thread's CPU time for the request "
        "(unaffected by other work on the machine; on PostgreSQL it leaves out the server's work). "
        "SQL: time inside cursor.execute for the page's queries. "
        "Raw SQL: the hand-written query for the same rows and LIMIT, execute + fetchall. "
        + (
            "A new database connection per request (CONN_MAX_AGE = 0, as served). "
            if report["fresh_connection_per_request"]
            else "Persistent database connection. "
        )
        + "`*` after a query count: it varied between requests.",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.splitlines()[0])
    parser.add_argument("--scale", required=True, choices=sorted(SCALES), help="names the result files")
    parser.add_argument("--user", default="director", help="the user name to sign in as")
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--suite", action="append", choices=sorted(SUITES), help="default: every suite")
    parser.add_argument("--cases", type=Path, help="a JSON file of extra cases")
    parser.add_argument("--only", default="", help="only cases whose name contains this")
    parser.add_argument("--out", type=Path, default=RESULTS_DIR)
    conn = parser.add_mutually_exclusive_group()
    conn.add_argument("--fresh-connection", dest="fresh", action="store_true", default=None)
    conn.add_argument("--keep-connection", dest="fresh", action="store_false")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a case is over its budget")
    args = parser.parse_args(argv)
    from bench._setup import django_setup, ensure_static

    django_setup()
    ensure_static()
    from bridgecrm.core.models import AuditEntry

    expected = get_scale(args.scale).audit_rows
    actual = AuditEntry.objects.count()
    if abs(actual - expected) > expected * 0.05:
        print(f"warning: {actual:,} audit rows, scale {args.scale} expects {expected:,}", file=sys.stderr)
    report = run(
        scale=args.scale,
        username=args.user,
        repeat=args.repeat,
        warmup=args.warmup,
        suites=args.suite or tuple(SUITES),
        cases_file=args.cases,
        only=args.only,
        out_dir=args.out,
        fresh_connection=args.fresh,
    )
    print()
    print(markdown(report))
    over = [c["name"] for c in report["cases"] if c["within_budget"] is False]
    if args.strict and over:
        sys.exit(1)


if __name__ == "__main__":
    main()
