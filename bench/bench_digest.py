"""Digest throughput vs PostgreSQL's own COPY of the same rows into the same table.

Usage: ``python bench/bench_digest.py [--rows 60000] [--batch 500] [--runs 5]``
(``TRACEHUB_BENCH_PG_URL`` points at a server where a scratch database may be created;
default ``postgresql://postgres@127.0.0.1:5432/postgres``).

Rows are SDK-like: 10 % ERROR entries drawn from 20 distinct tracebacks, ``extra`` with a
few keys. Each run digests the rows in transactions of ``--batch`` rows (what a worker
gathers from the queue), then COPYs a fresh copy of the same rows into ``logs`` in the same
transaction sizes: the ceiling. Medians of several alternating runs are printed, then the
time split of one digest run by phase.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import secrets
import statistics
import time
from collections import defaultdict
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

import asyncpg

from tracehub_server.queue.messages import IngestBatch
from tracehub_server.storage.db import create_pool, migrate
from tracehub_server.storage.logs import LOG_COLUMNS
from tracehub_server.storage.projects import create_project
from tracehub_server.worker import digest as digest_module
from tracehub_server.worker.digest import digest, prepare, prepare_lean

ADMIN_URL = os.environ.get("TRACEHUB_BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
LEVELS = ["DEBUG"] * 20 + ["INFO"] * 55 + ["WARN"] * 15

TRACE = """Traceback (most recent call last):
  File "/srv/app/.venv/lib/python3.11/site-packages/django/core/handlers/base.py", line 197, in get
    response = wrapped_callback(request)
  File "/srv/app/shop/feature{i}/views.py", line {line}, in handle_{i}
    result = helper_{i}(payload)
  File "/srv/app/shop/common/db.py", line 88, in run_query
    raise DatabaseError(sql)
shop.common.db.DatabaseError: query {i} failed after {line}ms
"""


def make_entries(count: int, now: datetime) -> list[dict[str, Any]]:
    """SDK-like validated entries spread over the last hour."""
    rng = random.Random(42)
    entries = []
    for n in range(count):
        ts = (now - timedelta(seconds=rng.randint(0, 3600))).isoformat()
        entry: dict[str, Any] = {
            "event_id": secrets.token_hex(16),
            "timestamp": ts,
            "received_at": now.isoformat(),
            "level": rng.choice(LEVELS),
            "service": rng.choice(["api", "worker", "billing"]),
            "environment": "production",
            "message": f"request {n} took {rng.randint(1, 900)}ms for user {rng.randrange(10**6)}",
            "host": f"web-{rng.randint(1, 8)}",
            "pid": rng.randint(100, 60000),
            "thread_id": f"worker-{rng.randint(1, 16)}",
            "sdk_version": "0.1.0",
            "module": "shop.views",
            "trace_id": secrets.token_hex(16),
            "error_type": None,
            "error_message": None,
            "stack_trace": None,
            "extra": {"user_id": rng.randint(1, 10**6), "path": "/cart", "region": "eu"},
            "original_timestamp": None,
        }
        if n % 10 == 0:
            i = rng.randrange(20)
            entry.update(
                level="ERROR",
                error_type="DatabaseError",
                error_message=f"query {i} failed",
                stack_trace=TRACE.format(i=i, line=rng.randint(10, 99)),
            )
        entries.append(entry)
    return entries


def chunks(items: list[Any], size: int) -> list[list[Any]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


async def run_digest(pool: asyncpg.Pool, project_id: int, entries: list[dict], batch: int) -> float:
    started = time.perf_counter()
    for part in chunks(entries, batch):
        # A worker gathers several 50-entry messages into one transaction.
        await digest(pool, [IngestBatch(project_id, m) for m in chunks(part, 50)])
    return len(entries) / (time.perf_counter() - started)


async def run_copy(dsn: str, project_id: int, entries: list[dict], batch: int) -> float:
    """The ceiling: rows already converted, COPY straight into logs, same transaction sizes."""
    rows = prepare([IngestBatch(project_id, entries)], datetime.now(timezone.utc)).rows
    for row in rows:
        row[2] = secrets.token_hex(16)  # fresh ids: the same rows, not duplicates
    conn = await asyncpg.connect(dsn)  # default codecs: jsonb from JSON text, binary COPY
    try:
        started = time.perf_counter()
        for part in chunks(rows, batch):
            async with conn.transaction():
                await conn.copy_records_to_table("logs", records=part, columns=LOG_COLUMNS)
        return len(rows) / (time.perf_counter() - started)
    finally:
        await conn.close()


async def profile_phases(
    pool: asyncpg.Pool, project_id: int, entries: list[dict], batch: int
) -> None:
    """Time each phase of the digest by wrapping the functions it calls."""
    spent: dict[str, float] = defaultdict(float)

    def timed(name: str, func: Callable[..., Any]) -> Callable[..., Any]:
        if asyncio.iscoroutinefunction(func):

            async def wrapper(*args: Any, **kwargs: Any) -> Any:
                t = time.perf_counter()
                try:
                    return await func(*args, **kwargs)
                finally:
                    spent[name] += time.perf_counter() - t
        else:

            def wrapper(*args: Any, **kwargs: Any) -> Any:  # type: ignore[misc]
                t = time.perf_counter()
                try:
                    return func(*args, **kwargs)
                finally:
                    spent[name] += time.perf_counter() - t

        return wrapper

    names = [
        ("prepare_lean", "prepare_lean (python: rows by position + fingerprint)"),
        ("prepare", "prepare (python: general path, not taken for API-shaped rows)"),
        ("ensure_partitions", "ensure_partitions (cached)"),
        ("resolve_issue_ids", "resolve_issue_ids"),
        ("insert_logs", "insert_logs (COPY staging + INSERT..SELECT + hourly rollup)"),
        ("add_issue_events", "add_issue_events"),
        ("bump_issue_hourly_counts", "bump_issue_hourly_counts"),
        ("delete_empty_issues", "delete_empty_issues"),
    ]
    originals = {n: getattr(digest_module, n) for n, _ in names}
    for n, label in names:
        setattr(digest_module, n, timed(label, originals[n]))
    try:
        started = time.perf_counter()
        for part in chunks(entries, batch):
            await digest(pool, [IngestBatch(project_id, m) for m in chunks(part, 50)])
        total = time.perf_counter() - started
    finally:
        for n, func in originals.items():
            setattr(digest_module, n, func)
    print(f"\nwhere the digest's time goes ({len(entries)} rows, {total:.2f} s):")
    accounted = 0.0
    for label, seconds in sorted(spent.items(), key=lambda kv: -kv[1]):
        accounted += seconds
        print(f"  {label:62s} {seconds:6.2f} s  {100 * seconds / total:5.1f} %")
    rest = total - accounted
    print(
        f"  {'begin/commit, pool, result building':62s} {rest:6.2f} s  {100 * rest / total:5.1f} %"
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=60_000)
    parser.add_argument("--batch", type=int, default=500, help="rows per transaction")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()

    name = f"th_bench_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(ADMIN_URL)
    await admin.execute(f'CREATE DATABASE "{name}"')
    dsn = ADMIN_URL.rpartition("/")[0] + "/" + name
    try:
        pool = await create_pool(dsn, min_size=1, max_size=2)
        async with pool.acquire() as conn:
            await migrate(conn)
            project = await create_project(conn, "bench")
        now = datetime.now(timezone.utc)
        entries = make_entries(args.rows, now)
        digest_rates, copy_rates = [], []
        await run_digest(pool, project.id, make_entries(2_000, now), args.batch)  # warm-up
        for run in range(args.runs):
            fresh = [dict(e, event_id=secrets.token_hex(16)) for e in entries]
            digest_rates.append(await run_digest(pool, project.id, fresh, args.batch))
            copy_rates.append(await run_copy(dsn, project.id, entries, args.batch))
            print(
                f"run {run + 1}: digest {digest_rates[-1]:9,.0f} rows/s"
                f"   raw COPY {copy_rates[-1]:9,.0f} rows/s"
            )
        d, c = statistics.median(digest_rates), statistics.median(copy_rates)
        print(
            f"\nmedian of {args.runs}: digest {d:,.0f} rows/s committed, raw COPY {c:,.0f} rows/s"
            f" -> digest = {100 * d / c:.0f} % of the COPY ceiling"
            f" ({args.rows} rows, {args.batch} rows per transaction)"
        )
        fresh = [dict(e, event_id=secrets.token_hex(16)) for e in entries]
        await profile_phases(pool, project.id, fresh, args.batch)
        for convert in (prepare_lean, prepare):
            started = time.perf_counter()
            convert([IngestBatch(project.id, fresh)], now)
            print(
                f"  ({convert.__name__} alone, all rows, fingerprints cached:"
                f" {time.perf_counter() - started:.2f} s)"
            )
        await pool.close()
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


if __name__ == "__main__":
    asyncio.run(main())
