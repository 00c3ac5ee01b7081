"""End-to-end ingest throughput: SDK-like senders -> API -> RabbitMQ -> worker -> PostgreSQL.

Usage: ``python bench/bench_server.py [--entries 100000] [--concurrency 16] [--api-workers 1]
[--workers 1]`` (``TRACEHUB_BENCH_PG_URL`` / ``TRACEHUB_BENCH_AMQP_URL`` point at servers
where a scratch database and vhost may be created; defaults are the local ones).

Senders post gzip batches of 50 entries (10 % ERROR drawn from 20 distinct tracebacks,
``extra`` with a few keys), like the SDK. Reported: entries/s accepted (202s), entries/s
committed end to end (first request to last row visible), API latency p50/p99, the queue
depth seen while sending, and -- in the same run, same database, same table and indexes --
the ceiling: PostgreSQL's own COPY of the same rows (median of 3).
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import os
import random
import secrets
import statistics
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import asyncpg
import httpx
import orjson

from tracehub_server.api.validation import EntryValidator
from tracehub_server.queue.messages import IngestBatch
from tracehub_server.storage.db import migrate
from tracehub_server.storage.logs import LOG_COLUMNS
from tracehub_server.storage.projects import create_api_key, create_project
from tracehub_server.worker.digest import prepare

ADMIN_URL = os.environ.get("TRACEHUB_BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
AMQP_BASE = os.environ.get("TRACEHUB_BENCH_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672")
TRACEHUB = [sys.executable, "-c", "from tracehub_server.cli import main; main()"]
BATCH = 50
LEVELS = ["DEBUG"] * 20 + ["INFO"] * 55 + ["WARN"] * 15


def _traceback(kind: int, line: int) -> str:
    return (
        "Traceback (most recent call last):\n"
        f'  File "/app/service/api.py", line {40 + line}, in handle\n    return run(req)\n'
        f'  File "/app/service/module{kind}.py", line {line}, in step{kind}\n    do()\n'
        f"Error{kind}: failed for order {random.randint(1, 10**6)}"
    )


def _entry(i: int) -> dict:
    now = datetime.now(timezone.utc).isoformat(timespec="milliseconds")
    base = {
        "event_id": secrets.token_hex(16),
        "timestamp": now,
        "service": "bench",
        "environment": "production",
        "host": "bench-host",
        "pid": 1234,
        "thread_id": 140000,
        "sdk_version": "0.1.0",
        "module": "orders",
        "extra": {"user_id": i % 1000, "path": "/api/orders", "ms": i % 300},
    }
    if i % 10 == 0:
        kind = random.randrange(20)
        return {
            **base,
            "level": "ERROR",
            "message": f"order {i} failed",
            "error_type": f"Error{kind}",
            "error_message": f"failed for order {i}",
            "stack_trace": _traceback(kind, random.randrange(1, 9)),
        }
    return {**base, "level": random.choice(LEVELS), "message": f"handled request {i}"}


def _bodies(entries: int) -> list[bytes]:
    return [
        gzip.compress(orjson.dumps([_entry(i) for i in range(start, start + BATCH)]), 6)
        for start in range(0, entries, BATCH)
    ]


async def _setup(database_url: str) -> tuple[int, str]:
    conn = await asyncpg.connect(database_url)
    try:
        await migrate(conn)
        project = await create_project(conn, "bench")
        _, key = await create_api_key(conn, project.id)
        return project.id, key
    finally:
        await conn.close()


async def _send(endpoint: str, key: str, bodies: list[bytes], concurrency: int) -> dict:
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    queue = list(reversed(bodies))
    headers = {"X-API-Key": key, "Content-Encoding": "gzip", "Content-Type": "application/json"}
    limits = httpx.Limits(max_connections=concurrency)

    async def sender(client: httpx.AsyncClient) -> None:
        while queue:
            body = queue.pop()
            while True:
                started = time.perf_counter()
                response = await client.post(f"{endpoint}/api/v1/ingest", content=body)
                latencies.append(time.perf_counter() - started)
                statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
                if response.status_code == 202:
                    break
                await asyncio.sleep(float(response.headers.get("Retry-After", "1")))

    async with httpx.AsyncClient(headers=headers, limits=limits, timeout=60) as client:
        started = time.perf_counter()
        await asyncio.gather(*(sender(client) for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    latencies.sort()
    return {
        "elapsed": elapsed,
        "p50": latencies[len(latencies) // 2],
        "p99": latencies[int(len(latencies) * 0.99)],
        "statuses": statuses,
    }


async def _count(dsn: str, project_id: int) -> int:
    conn = await asyncpg.connect(dsn)
    try:
        return await conn.fetchval("SELECT count(*) FROM logs WHERE project_id = $1", project_id)
    finally:
        await conn.close()


async def _copy_ceiling(dsn: str, entries: int) -> float:
    """Rows/s of COPY of SDK-like rows into ``logs`` (same indexes), in 5,000-row commits."""
    conn = await asyncpg.connect(dsn)
    try:
        project = await create_project(conn, f"copy-{secrets.token_hex(3)}")
        wire = [_entry(i) for i in range(entries)]
        now = datetime.now(timezone.utc)
        validated, _ = EntryValidator(retention_days=30).validate(wire, now)
        rows = prepare([IngestBatch(project.id, validated)], now).rows
        started = time.perf_counter()
        for start in range(0, len(rows), 5000):
            async with conn.transaction():
                await conn.copy_records_to_table(
                    "logs", records=rows[start : start + 5000], columns=LOG_COLUMNS
                )
        return len(rows) / (time.perf_counter() - started)
    finally:
        await conn.close()


def _rabbitmqctl(*args: str) -> None:
    subprocess.run(["rabbitmqctl", "-q", *args], check=True, capture_output=True, timeout=60)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--api-workers", type=int, default=1)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()

    name = f"th_bench_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(ADMIN_URL)
    await admin.execute(f'CREATE DATABASE "{name}"')
    _rabbitmqctl("add_vhost", name)
    _rabbitmqctl("set_permissions", "-p", name, "guest", ".*", ".*", ".*")
    dsn = ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    port = 18000 + random.randrange(1000)
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRACEHUB_")}
    env.update(
        TRACEHUB_DATABASE_URL=dsn,
        TRACEHUB_AMQP_URL=f"{AMQP_BASE}/{name}",
        TRACEHUB_LOG_LEVEL="warning",
        TRACEHUB_MAX_QUEUE_DEPTH="1000000",
    )
    processes: list[subprocess.Popen] = []
    log = Path(f"/tmp/{name}.log").open("ab")  # noqa: SIM115 - closed in finally, spans awaits
    try:
        project_id, key = await _setup(dsn)
        print(f"generating {args.entries} entries in gzip batches of {BATCH}...", flush=True)
        bodies = _bodies(args.entries)
        server_args = ["server", "--port", str(port), "--workers", str(args.api_workers)]
        processes.append(
            subprocess.Popen([*TRACEHUB, *server_args], env=env, stdout=log, stderr=log)
        )
        for _ in range(args.workers):
            processes.append(
                subprocess.Popen([*TRACEHUB, "worker"], env=env, stdout=log, stderr=log)
            )
        endpoint = f"http://127.0.0.1:{port}"
        for _ in range(600):
            try:
                if httpx.get(f"{endpoint}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.1)
        started = time.perf_counter()
        sent = await _send(endpoint, key, bodies, args.concurrency)
        backlog = await _count(dsn, project_id)
        while (stored := await _count(dsn, project_id)) < args.entries:
            await asyncio.sleep(0.1)
        committed_elapsed = time.perf_counter() - started
        accepted_rate = args.entries / sent["elapsed"]
        committed_rate = stored / committed_elapsed
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(60)
        processes.clear()
        ceilings = [await _copy_ceiling(dsn, min(args.entries, 50_000)) for _ in range(3)]
        ceiling = statistics.median(ceilings)
        print(f"entries                      {args.entries}")
        print(f"accepted (API 202)           {accepted_rate:10.0f} entries/s")
        print(f"committed end to end         {committed_rate:10.0f} entries/s")
        print(f"rows committed when sending ended  {backlog} of {args.entries}")
        p50, p99 = sent["p50"] * 1000, sent["p99"] * 1000
        print(f"API latency p50 / p99        {p50:.1f} ms / {p99:.1f} ms")
        print(f"responses                    {sent['statuses']}")
        runs = [round(c) for c in ceilings]
        print(f"COPY ceiling (median of 3)   {ceiling:10.0f} rows/s  runs={runs}")
        print(f"committed / COPY ceiling     {committed_rate / ceiling:10.0%}")
    finally:
        for process in processes:
            process.kill()
        log.close()
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
        _rabbitmqctl("delete_vhost", name)


if __name__ == "__main__":
    asyncio.run(main())
