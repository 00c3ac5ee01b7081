"""Benchmark of the dashboard's read queries on a generated database.

Generates ``--rows`` log rows over ``--days`` days in one project (plus a second project with
a tenth as many), the matching ``hourly_counts`` and a few thousand issues, server-side with
``INSERT ... SELECT generate_series`` (one statement per day). Then times each typical query
through the real storage functions, ``--runs`` times, and prints p50/p95 next to the same
question answered without the index or rollup that serves it (dropped inside a transaction
that is rolled back), plus each query's EXPLAIN ANALYZE plan summary.

    .venv/bin/python bench/bench_queries.py                 # 10 million rows
    .venv/bin/python bench/bench_queries.py --rows 1000000  # quicker
    .venv/bin/python bench/bench_queries.py --reuse         # keep/reuse the generated database

The database (``th_bench_queries`` by default) is created on the admin URL's server and
dropped at the end unless ``--reuse`` is given.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta, timezone
from typing import Any

import asyncpg

from tracehub_server.storage import issue_queries, log_queries, stats
from tracehub_server.storage.db import create_pool, migrate
from tracehub_server.storage.scan_budget import DEFAULT_BUDGET, ScanBudget
from tracehub_server.web_params import LOG_CURSOR, parse_issue_filter, parse_log_filter, sign_cursor

TARGETS = {"explorer": 300.0, "issues": 100.0, "stats": 100.0}
#: Cursors are signed by the web layer; the bench signs and checks them as it does.
_KEY = b"bench" * 8


class Recorder:
    """Forwards to a connection and remembers the last SELECT, so it can be EXPLAINed."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self._conn = conn
        self.last: tuple[str, tuple[Any, ...]] | None = None

    def _note(self, sql: str, args: tuple[Any, ...]) -> None:
        if sql.lstrip().upper().startswith("SELECT"):
            self.last = (sql, args)

    async def fetch(self, sql: str, *args: Any) -> Any:
        self._note(sql, args)
        return await self._conn.fetch(sql, *args)

    async def fetchrow(self, sql: str, *args: Any) -> Any:
        self._note(sql, args)
        return await self._conn.fetchrow(sql, *args)

    async def fetchval(self, sql: str, *args: Any) -> Any:
        self._note(sql, args)
        return await self._conn.fetchval(sql, *args)

    async def execute(self, sql: str, *args: Any) -> Any:
        return await self._conn.execute(sql, *args)

    def transaction(self, **kwargs: Any) -> Any:
        return self._conn.transaction(**kwargs)


def _admin_url_for(url: str, name: str) -> str:
    base, _, _ = url.rpartition("/")
    return f"{base}/{name}"


async def generate(conn: asyncpg.Connection, rows: int, days: int, now: datetime) -> None:
    """Fill logs, hourly_counts and issues (projects 'bench-main' and 'bench-other')."""
    main = await conn.fetchval("INSERT INTO projects (name) VALUES ('bench-main') RETURNING id")
    other = await conn.fetchval("INSERT INTO projects (name) VALUES ('bench-other') RETURNING id")
    start = now - timedelta(days=days)
    await conn.execute(
        "SELECT tracehub_ensure_log_partitions($1::date[])",
        [(start + timedelta(days=d)).date() for d in range(days + 2)],
    )
    for project, total in ((main, rows), (other, max(rows // 10, 1))):
        per_day = max(total // days, 1)
        for day in range(days):
            t0 = time.perf_counter()
            day_start = start + timedelta(days=day)
            await conn.execute(
                GENERATE_SQL, project, day_start, per_day, 86400.0 / per_day, day * per_day
            )
            print(
                f"  project {project} day {day + 1}/{days}: {per_day} rows"
                f" in {time.perf_counter() - t0:.1f} s",
                flush=True,
            )
    await conn.execute(
        "INSERT INTO hourly_counts SELECT project_id, date_trunc('hour', \"timestamp\"), level,"
        " service, environment, count(*) FROM logs GROUP BY 1, 2, 3, 4, 5"
    )
    for project, n in ((main, 5000), (other, 500)):
        await conn.execute(ISSUES_SQL, project, n, now, days)
    await conn.execute("ANALYZE")


GENERATE_SQL = """
INSERT INTO logs (project_id, "timestamp", event_id, received_at, level, service, environment,
                  host, pid, message, module, trace_id, error_type, error_message, extra)
SELECT $1, t, gen_random_uuid(), t,
       CASE WHEN r < 0.20 THEN 'DEBUG' WHEN r < 0.80 THEN 'INFO' WHEN r < 0.92 THEN 'WARN'
            WHEN r < 0.99 THEN 'ERROR' ELSE 'FATAL' END,
       'svc-' || (i % 8), CASE WHEN i % 10 = 0 THEN 'staging' ELSE 'prod' END,
       'host-' || (i % 20), 1000 + i % 50,
       CASE WHEN i % 1000 = 7 THEN 'upstream timeout after 30 s calling inventory'
            WHEN i % 500000 = 11 THEN 'deadlock detected while updating ledger'
            ELSE 'GET /api/items/' || (i % 5000) || ' served in ' || (i % 700) || ' ms' END,
       'app.module' || (i % 40),
       CASE WHEN i % 3 = 0 THEN 'tr-' || $5::bigint + i / 6 END,
       CASE WHEN r >= 0.92 THEN 'ValueError' END,
       CASE WHEN r >= 0.92 THEN 'bad value ' || (i % 300) END,
       jsonb_build_object('user_id', 'usr_' || (i % 50000), 'status', (i % 5) * 100)
FROM (SELECT i, $2::timestamptz + make_interval(secs => i * $4::float8) AS t, random() AS r
      FROM generate_series(0, $3::bigint - 1) AS i) AS g
"""

ISSUES_SQL = """
INSERT INTO issues (project_id, fingerprint, title, error_type, error_message, level, status,
                    first_seen, last_seen, event_count)
SELECT $1::bigint, md5($1::bigint::text || '-' || i), 'ValueError: bad value ' || i, 'ValueError',
       'bad value ' || i, 'ERROR',
       (ARRAY['OPEN','OPEN','IN_PROGRESS','RESOLVED','IGNORED'])[1 + i % 5],
       $3::timestamptz - make_interval(days => $4::int) + make_interval(secs => i * 7.0),
       $3::timestamptz - make_interval(secs => (i * 97) % (86400 * $4::int)),
       1 + (i * 7919) % 100000
FROM generate_series(1, $2::int) AS i
"""


async def timed(fn: Callable[[], Awaitable[Any]], runs: int) -> tuple[float, float]:
    """(p50, p95) in milliseconds over ``runs`` calls, after one warm-up call."""
    await fn()
    samples = []
    for _ in range(runs):
        t0 = time.perf_counter()
        await fn()
        samples.append((time.perf_counter() - t0) * 1000)
    samples.sort()
    return statistics.median(samples), samples[min(len(samples) - 1, int(len(samples) * 0.95))]


async def explain(conn: asyncpg.Connection, recorded: tuple[str, tuple[Any, ...]] | None) -> str:
    if recorded is None:
        return "  (no plan recorded)"
    sql, args = recorded
    rows = await conn.fetch("EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY ON) " + sql, *args)
    lines = [r[0] for r in rows]
    keep = [line for line in lines if "->" in line or not line.startswith(" ")][:14]
    return "\n".join("    " + line for line in keep)


async def without(
    conn: asyncpg.Connection, drop_sql: str, fn: Callable[[], Awaitable[Any]], runs: int
) -> tuple[float, float]:
    """Time ``fn`` with an index dropped inside a transaction that is rolled back."""
    tr = conn.transaction()
    await tr.start()
    try:
        await conn.execute(drop_sql)
        return await timed(fn, runs)
    finally:
        await tr.rollback()


async def run_queries(conn: asyncpg.Connection, runs: int, now: datetime) -> list[str]:
    main = await conn.fetchval("SELECT id FROM projects WHERE name = 'bench-main'")
    rec = Recorder(conn)
    ids = [main]
    sample_trace = await conn.fetchval(
        "SELECT trace_id FROM logs WHERE project_id = $1 AND trace_id IS NOT NULL"
        ' AND "timestamp" > $2 LIMIT 1',
        main,
        now - timedelta(days=3),
    )

    def logs(params: dict[str, str]) -> Callable[[], Awaitable[Any]]:
        flt = parse_log_filter(params, now=now, cursor_key=_KEY)
        return lambda: log_queries.search_logs(rec, ids, flt)  # type: ignore[arg-type]

    issue_flt = parse_issue_filter({"status": "OPEN"})
    issue_count_flt = parse_issue_filter({"sort": "event_count"})
    day_ago, week_ago, month_ago = (now - timedelta(hours=24), now - timedelta(days=7),
                                    now - timedelta(days=30))  # fmt: skip

    cases: list[tuple[str, str, Callable[[], Awaitable[Any]], str | None]] = [
        ("explorer", "last 24 h, level=ERROR", logs({"level": "ERROR"}), None),
        ("explorer", "last 24 h, level=FATAL", logs({"level": "FATAL"}), None),
        ("explorer", "last 24 h, no filter", logs({}), None),
        ("explorer", "q=timeout over 7 days (0.1 % of rows)",
         logs({"q": "timeout", "since": "7d"}), None),
        ("explorer", "q=deadlock over 7 days (1 in 500k rows), first request",
         logs({"q": "deadlock", "since": "7d"}), None),
        ("explorer", "extra.user_id=usr_123, last 24 h", logs({"extra.user_id": "usr_123"}),
         "DROP INDEX logs_extra_idx"),
        ("explorer", "extra.user_id=usr_123 over 7 days",
         logs({"extra.user_id": "usr_123", "since": "7d"}), "DROP INDEX logs_extra_idx"),
        ("explorer", "trace_id over 7 days", logs({"trace_id": sample_trace, "since": "7d"}),
         "DROP INDEX logs_trace_idx"),
        ("explorer", "page 2 via cursor (last 24 h)", None, None),  # filled below
        ("issues", "issues list, status=OPEN by last_seen",
         lambda: issue_queries.list_issues(rec, ids, issue_flt),  # type: ignore[arg-type]
         "DROP INDEX issues_project_status_idx; DROP INDEX issues_project_last_seen_idx"),
        ("issues", "issues list by event_count",
         lambda: issue_queries.list_issues(rec, ids, issue_count_flt), None),  # type: ignore[arg-type]
        ("stats", "overview, last 24 h",
         lambda: stats.overview(rec, ids, since=day_ago), None),  # type: ignore[arg-type]
        ("stats", "severity, last 7 days",
         lambda: stats.severity(rec, ids, since=week_ago), None),  # type: ignore[arg-type]
        ("stats", "timeline by hour, last 7 days",
         lambda: stats.timeline(rec, ids, since=week_ago), None),  # type: ignore[arg-type]
        ("stats", "timeline by day, last 30 days",
         lambda: stats.timeline(rec, ids, since=month_ago, bucket="day"), None),  # type: ignore[arg-type]
    ]  # fmt: skip
    first = await log_queries.search_logs(conn, ids, parse_log_filter({}, now=now))
    cases[8] = (cases[8][0], cases[8][1],
                logs({"cursor": _signed(first.next_cursor)}), None)  # fmt: skip

    # Rollup-free baselines: the same stats answered by scanning logs.
    scans = {
        "overview, last 24 h": (
            "SELECT count(*), count(*) FILTER (WHERE level IN ('ERROR','FATAL')) FROM logs"
            ' WHERE project_id = $1 AND "timestamp" >= $2', day_ago),
        "severity, last 7 days": (
            'SELECT level, count(*) FROM logs WHERE project_id = $1 AND "timestamp" >= $2'
            " GROUP BY level", week_ago),
        "timeline by hour, last 7 days": (
            "SELECT date_trunc('hour', \"timestamp\"), level, count(*) FROM logs"
            ' WHERE project_id = $1 AND "timestamp" >= $2 GROUP BY 1, 2', week_ago),
        "timeline by day, last 30 days": (
            "SELECT date_trunc('day', \"timestamp\"), level, count(*) FROM logs"
            ' WHERE project_id = $1 AND "timestamp" >= $2 GROUP BY 1, 2', month_ago),
    }  # fmt: skip

    report = [
        "| query | target | p50 ms | p95 ms | without index/rollup p50 / p95 ms |",
        "| --- | --- | ---: | ---: | ---: |",
    ]
    for group, name, fn, drop in cases:
        assert fn is not None
        p50, p95 = await timed(fn, runs)
        plan = await explain(conn, rec.last)
        base = ""
        if drop:
            b50, b95 = await without(conn, drop, fn, max(3, runs // 4))
            base = f"{b50:.1f} / {b95:.1f} (`{drop}`)"
        elif name in scans:
            sql, since = scans[name]
            b50, b95 = await timed(lambda s=sql, t=since: conn.fetch(s, main, t), max(3, runs // 4))
            base = f"{b50:.1f} / {b95:.1f} (scanning logs)"
        ok = "ok" if p95 <= TARGETS[group] else "OVER"
        target = f"{group} ≤ {TARGETS[group]:.0f} ms ({ok})"
        line = f"| {name} | {target} | {p50:.1f} | {p95:.1f} | {base} |"
        report.append(line)
        print(line, flush=True)
        print(plan, flush=True)
    return report


async def walk_rare_term(
    conn: asyncpg.Connection,
    ids: list[int],
    params: dict[str, str],
    now: datetime,
    *,
    budget: ScanBudget = DEFAULT_BUDGET,
) -> tuple[list[float], int, int]:
    """Follow ``next_cursor`` until the range is done: (ms per request, requests, matches)."""
    samples, found, cursor = [], 0, None
    for _ in range(10_000):
        extra = {"cursor": _signed(cursor)} if cursor else {}
        flt = parse_log_filter({**params, **extra}, now=now, cursor_key=_KEY)
        t0 = time.perf_counter()
        page = await log_queries.search_logs(conn, ids, flt, budget=budget)
        samples.append((time.perf_counter() - t0) * 1000)
        found += len(page.entries)
        if (cursor := page.next_cursor) is None:
            break
    return samples, len(samples), found


def _signed(cursor: str | None) -> str:
    """A storage cursor as the web layer hands it out (signed with the bench's key)."""
    return sign_cursor(_KEY, LOG_CURSOR, cursor) or ""


def _pct(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]


async def bounded_scan_report(conn: asyncpg.Connection, runs: int, now: datetime) -> list[str]:
    """Rare and common terms over 7 days: per-request p50/p95 of the budgeted walk, the
    total to exhaust the range, and the same search as one unbounded query."""
    main = await conn.fetchval("SELECT id FROM projects WHERE name = 'bench-main'")
    other = await conn.fetchval("SELECT id FROM projects WHERE name = 'bench-other'")
    out = [
        "| search | requests to finish | p50 ms / request | p95 ms / request"
        " | total ms to exhaust | rows | one unbounded query p50 / p95 ms |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    # One slice covers the whole range (the first always runs whatever the budget): the
    # search as one unbounded query. No time budget, as a huge one would size a next slice
    # from a fast first one beyond what a timedelta holds.
    one_query = ScanBudget(time_ms=0, first_slice=timedelta(days=40))
    for term, since in (("deadlock", "7d"), ("deadlock", "30d"), ("timeout", "7d")):
        params = {"q": term, "since": since}
        samples: list[float] = []
        totals: list[float] = []
        firsts: list[float] = []
        requests = rows = 0
        for _ in range(max(1, runs // 5)):
            per, requests, rows = await walk_rare_term(conn, [main], params, now)
            samples += per
            firsts.append(per[0])
            totals.append(sum(per))
        p50, p95 = _pct(samples)
        print(f"  first request of {term} {since}: max {max(firsts):.1f} ms", flush=True)
        flt = parse_log_filter(params, now=now)
        try:
            b50, b95 = await timed(
                lambda f=flt: log_queries.search_logs(conn, [main], f, budget=one_query),
                max(3, runs // 4),
            )
        except log_queries.QueryTimeoutError:  # the API would answer 503
            b50 = b95 = float(log_queries.QUERY_TIMEOUT_MS)
        line = (
            f"| q={term}, {since}, first page only" if term == "timeout" else f"| q={term}, {since}"
        )
        if term == "timeout":
            first = await timed(lambda f=flt: log_queries.search_logs(conn, [main], f), runs)
            p50, p95 = first
        out.append(
            f"{line} | {requests} | {p50:.1f} | {p95:.1f} | {statistics.median(totals):,.0f}"
            f" | {rows} | {b50:,.1f} / {b95:,.1f} |"
        )
        print(out[-1], flush=True)
    # Several projects, no project filter: per-project walks merged, against ANY() + sort.
    flt = parse_log_filter({"since": "24h"}, now=now)
    m50, m95 = await timed(lambda: log_queries.search_logs(conn, [main, other], flt), runs)
    sort_sql = (
        'SELECT event_id FROM logs WHERE project_id = ANY($1::bigint[]) AND "timestamp" >= $2'
        ' ORDER BY "timestamp" DESC, event_id DESC LIMIT 51'
    )
    s50, s95 = await timed(
        lambda: conn.fetch(sort_sql, [main, other], flt.since), max(3, runs // 4)
    )
    out += [
        "",
        "| two projects, last 24 h, no filter | p50 ms | p95 ms |",
        "| --- | ---: | ---: |",
        f"| merged per-project index walks | {m50:.1f} | {m95:.1f} |",
        f"| `project_id = ANY(...)` sorted (before) | {s50:.1f} | {s95:.1f} |",
    ]
    print("\n".join(out[-5:]), flush=True)
    return out


async def trigram_experiment(conn: asyncpg.Connection, runs: int, now: datetime) -> list[str]:
    """The alternative design: pg_trgm GIN on the last 8 days' partitions, q timed again,
    and the write-path cost (100k-row insert into the newest partition with and without)."""
    main = await conn.fetchval("SELECT id FROM projects WHERE name = 'bench-main'")
    await conn.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    days = [(now - timedelta(days=d)).date() for d in range(9)]
    parts = [f"logs_p{day:%Y%m%d}" for day in days]
    t0 = time.perf_counter()
    for part in parts:
        await conn.execute(
            f"CREATE INDEX IF NOT EXISTS {part}_trgm ON {part} USING gin"
            " (message gin_trgm_ops, error_type gin_trgm_ops, error_message gin_trgm_ops)"
        )
    build = time.perf_counter() - t0
    await conn.execute("ANALYZE")
    out = [f"| trigram index build, 9 daily partitions | {build:.1f} s |"]
    for term in ("timeout", "deadlock"):
        flt = parse_log_filter({"q": term, "since": "7d"}, now=now)
        p50, p95 = await timed(lambda f=flt: log_queries.search_logs(conn, [main], f), runs)
        out.append(
            f"| q={term} over 7 days WITH trigram index | p50 {p50:.1f} / p95 {p95:.1f} ms |"
        )
    for label, with_index in (("without", False), ("with", True)):
        tr = conn.transaction()
        await tr.start()
        try:
            if not with_index:
                for part in parts:
                    await conn.execute(f"DROP INDEX {part}_trgm")
            t0 = time.perf_counter()
            await conn.execute(GENERATE_SQL, main, now - timedelta(hours=1), 100_000, 0.03, 0)
            took = time.perf_counter() - t0
        finally:
            await tr.rollback()
        out.append(f"| insert 100k rows {label} trigram index | {100_000 / took:,.0f} rows/s |")
    for part in parts:
        await conn.execute(f"DROP INDEX IF EXISTS {part}_trgm")
    return out


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--admin-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--database", default="th_bench_queries")
    parser.add_argument("--reuse", action="store_true", help="keep the database; reuse if present")
    parser.add_argument(
        "--with-trgm", action="store_true", help="also time the pg_trgm alternative for q"
    )
    parser.add_argument(
        "--only-scan", action="store_true", help="only the budgeted-search and merge figures"
    )
    args = parser.parse_args()

    admin = await asyncpg.connect(args.admin_url)
    exists = await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", args.database)
    if exists and not args.reuse:
        await admin.execute(f'DROP DATABASE "{args.database}" WITH (FORCE)')
    if not exists or not args.reuse:
        await admin.execute(f'CREATE DATABASE "{args.database}"')
    url = _admin_url_for(args.admin_url, args.database)
    pool = await create_pool(url, max_size=2)
    try:
        async with pool.acquire() as conn:
            await migrate(conn)
            have = await conn.fetchval("SELECT count(*) FROM projects WHERE name = 'bench-main'")
            meta = await conn.fetchval("SELECT obj_description('logs'::regclass)")
            if not have:
                now = datetime.now(timezone.utc)
                print(f"generating {args.rows} rows over {args.days} days ...", flush=True)
                t0 = time.perf_counter()
                await generate(conn, args.rows, args.days, now)
                await conn.execute(f"COMMENT ON TABLE logs IS '{now.isoformat()}'")
                print(f"generated in {time.perf_counter() - t0:.0f} s", flush=True)
            else:
                now = datetime.fromisoformat(meta)
                print(f"reusing {args.database} generated at {now}", flush=True)
            total = await conn.fetchval("SELECT count(*) FROM logs")
            print(f"\nlogs rows: {total}, runs per query: {args.runs}\n", flush=True)
            report = [] if args.only_scan else await run_queries(conn, args.runs, now)
            report += ["", *await bounded_scan_report(conn, args.runs, now)]
            if args.with_trgm:
                report += ["", "| trigram experiment | |", "| --- | --- |"]
                report += await trigram_experiment(conn, args.runs, now)
    finally:
        await pool.close()
        if not args.reuse:
            await admin.execute(f'DROP DATABASE IF EXISTS "{args.database}" WITH (FORCE)')
        await admin.close()
    print("\n" + "\n".join(report))


if __name__ == "__main__":
    asyncio.run(main())
