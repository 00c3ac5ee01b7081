"""End-to-end ingest throughput: lean senders -> API -> RabbitMQ -> worker -> PostgreSQL.

Usage: ``python bench/bench_server.py [--entries 300000] [--runs 3] [--concurrency 16]
[--batch 50] [--api-workers 1] [--workers 1] [--set TRACEHUB_NAME=VALUE]
[--profile DIR] [--alert-rules N] [--scrub-alternate]``
(``TRACEHUB_BENCH_PG_URL`` / ``TRACEHUB_BENCH_AMQP_URL`` point at servers where a scratch
database and vhost may be created; defaults are the local ones).

Request bodies are SDK-like gzip batches of 50 entries (``--batch``; 10 % ERROR drawn from
20 distinct tracebacks, ``extra`` with a few keys), built -- with unique event ids -- before
the clock starts. They are posted over keep-alive sockets by a minimal HTTP/1.1 client, so
the sender costs the server as little CPU as possible on a shared machine (in production
the senders are other machines; the SDK is benchmarked in ``bench_sdk.py``).

Each run reports entries/s accepted (202s), entries/s committed end to end (first request to
last row visible), API latency p50/p99, and the CPU seconds each party used (sender, API,
worker, RabbitMQ, PostgreSQL). Before and after each run, in the same database, the
ceiling: PostgreSQL's own COPY of the same rows into the same ``logs`` table with the same
indexes (their mean; the table is filled with a run's worth of rows first, untimed, as COPY
into an empty table is its best case). Before each timed phase PostgreSQL is checkpointed
and autovacuum waited out, so no phase pays for another's leftovers. Medians over the
runs are printed last. ``--profile DIR`` records py-spy profiles (collapsed stacks) of the
API and worker processes during the first run. ``--alert-rules N`` interleaves runs without
alert rules and runs whose project has N active rules of each alert kind (see
``alert_rules.py``), and prints the medians of both and their difference.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import os
import random
import secrets
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import asyncpg
import httpx
import orjson
import psutil

import alert_rules
from tracehub_server.api.validation import EntryValidator
from tracehub_server.queue.messages import IngestBatch
from tracehub_server.storage.db import migrate
from tracehub_server.storage.logs import LOG_COLUMNS
from tracehub_server.storage.projects import create_api_key, create_project
from tracehub_server.worker.digest import prepare

ADMIN_URL = os.environ.get("TRACEHUB_BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
AMQP_BASE = os.environ.get("TRACEHUB_BENCH_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672")
TRACEHUB = [sys.executable, "-c", "from tracehub_server.cli import main; main()"]
#: Entries per request: the SDK's default ``batch_size``. A busy app's SDK sends more per
#: request (everything waiting, up to 1,000): ``--batch`` measures that.
BATCH = 50
LEVELS = ["DEBUG"] * 20 + ["INFO"] * 55 + ["WARN"] * 15
#: Seconds a run may take to commit everything before the bench gives up.
COMMIT_TIMEOUT = 600


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
        "thread_id": "MainThread",
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


def _requests(entries: int, key: str, port: int, batch: int) -> list[bytes]:
    """Complete HTTP/1.1 requests (headers + gzip body), ready to be written to a socket."""
    requests = []
    for start in range(0, entries, batch):
        stop = min(start + batch, entries)
        body = gzip.compress(orjson.dumps([_entry(i) for i in range(start, stop)]), 6)
        head = (
            f"POST /api/v1/ingest HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nX-API-Key: {key}\r\n"
            "Content-Type: application/json\r\nContent-Encoding: gzip\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        )
        requests.append(head.encode() + body)
    return requests


async def read_response(reader: asyncio.StreamReader) -> tuple[int, float]:
    """Status and Retry-After of one response (its body is read and discarded)."""
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = 0
    retry_after = 1.0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"retry-after":
            retry_after = float(value)
    if length:
        await reader.readexactly(length)
    return status, retry_after


async def _send(port: int, requests: list[bytes], concurrency: int) -> dict:
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    queue = list(reversed(requests))

    async def sender() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            while queue:
                request = queue.pop()
                while True:
                    started = time.perf_counter()
                    writer.write(request)
                    status, retry_after = await read_response(reader)
                    latencies.append(time.perf_counter() - started)
                    statuses[status] = statuses.get(status, 0) + 1
                    if status == 202:
                        break
                    await asyncio.sleep(retry_after)
        finally:
            writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(sender() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    latencies.sort()
    return {
        "elapsed": elapsed,
        "p50": latencies[len(latencies) // 2],
        "p99": latencies[int(len(latencies) * 0.99)],
        "statuses": statuses,
    }


@dataclass
class CpuMeter:
    """CPU seconds used by each party of the pipeline between :meth:`start` and :meth:`stop`.

    Processes are looked up at both ends: a process born during the run (a pool opening
    another PostgreSQL connection) counts with all its CPU time.
    """

    find: Callable[[], dict[str, list[psutil.Process]]]
    before: dict[int, float] = field(default_factory=dict)
    used: dict[str, float] = field(default_factory=dict)

    @staticmethod
    def _cpu(process: psutil.Process) -> float:
        try:
            times = process.cpu_times()
        except psutil.Error:
            return 0.0
        return times.user + times.system

    def start(self) -> None:
        for processes in self.find().values():
            for process in processes:
                self.before[process.pid] = self._cpu(process)

    def stop(self) -> None:
        for name, processes in self.find().items():
            self.used[name] = sum(self._cpu(p) - self.before.get(p.pid, 0.0) for p in processes)


def _pipeline_processes(
    api: subprocess.Popen, workers: list[subprocess.Popen], database: str
) -> dict[str, list[psutil.Process]]:
    api_process = psutil.Process(api.pid)
    postgres = []
    for process in psutil.process_iter(["name", "cmdline", "username"]):
        cmdline = " ".join(process.info["cmdline"] or [])
        if process.info["username"] != "postgres" or not cmdline.startswith("postgres:"):
            continue
        # Backends of this run's database, plus the shared WAL writer and checkpointer.
        if f" {database} " in cmdline or any(
            word in cmdline for word in ("walwriter", "checkpointer", "background writer")
        ):
            postgres.append(process)
    rabbit = [p for p in psutil.process_iter(["name"]) if p.info["name"] == "beam.smp"]
    return {
        "sender": [psutil.Process()],
        "API": [api_process, *api_process.children(recursive=True)],
        "worker": [psutil.Process(w.pid) for w in workers],
        "RabbitMQ": rabbit,
        "PostgreSQL": postgres,
    }


async def _committed(conn: asyncpg.Connection, project_id: int) -> int:
    # hourly_counts is maintained in the rows' own transaction: cheaper to poll than logs.
    total = await conn.fetchval(
        "SELECT coalesce(sum(count), 0) FROM hourly_counts WHERE project_id = $1", project_id
    )
    return int(total)


async def _quiesce(dsn: str, timeout: float = 120.0) -> None:
    """Let PostgreSQL finish what the previous phase left behind before the next is timed.

    A run of 100,000+ rows leaves dirty buffers and wakes autovacuum on the fresh
    partition; without this, that work lands on whichever phase comes next (the COPY
    ceiling right after a run measured ~30 % low). A forced checkpoint writes the buffers
    out, then the wait lasts until no autovacuum worker is busy.
    """
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("CHECKPOINT")
        deadline = time.monotonic() + timeout
        query = "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'autovacuum worker'"
        while await conn.fetchval(query) and time.monotonic() < deadline:
            await asyncio.sleep(0.2)
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


def rabbitmqctl(*args: str) -> None:
    subprocess.run(["rabbitmqctl", "-q", *args], check=True, capture_output=True, timeout=60)


def _profile(pids: dict[str, int], folder: Path, seconds: int) -> list[subprocess.Popen]:
    spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    folder.mkdir(parents=True, exist_ok=True)
    return [
        subprocess.Popen(
            [
                spy,
                "record",
                "-p",
                str(pid),
                "-d",
                str(seconds),
                "-r",
                "100",
                "-f",
                "raw",
                "-o",
                str(folder / f"{name}.txt"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for name, pid in pids.items()
    ]


async def _run(
    args: argparse.Namespace,
    dsn: str,
    port: int,
    groups: Callable[[], dict[str, list[psutil.Process]]],
    pids: dict,
    index: int,
    alerts: alert_rules.Receiver | None = None,
) -> dict:
    project_id, key = await _setup(dsn, f"bench-{index}")
    if alerts is not None:
        await alert_rules.create_rules(dsn, project_id, args.alert_rules, alerts.url)
    scrubbing = not (args.scrub_alternate and index % 2)
    if not scrubbing:
        await _scrubbing_off(dsn, project_id)
    print(f"run {index + 1}: building {args.entries} entries in gzip batches of {args.batch}...")
    requests = _requests(args.entries, key, port, args.batch)
    ceiling_rows = min(args.entries, 50_000)
    await _quiesce(dsn)
    ceiling_before = await _copy_ceiling(dsn, ceiling_rows)
    await _quiesce(dsn)
    meter = CpuMeter(groups)
    conn = await asyncpg.connect(dsn)
    spies = []
    if args.profile and index == 0:
        spies = _profile(pids, Path(args.profile), max(2, int(args.entries / 15_000)))
    try:
        meter.start()
        started = time.perf_counter()
        sent = await _send(port, requests, args.concurrency)
        backlog = await _committed(conn, project_id)
        deadline = time.monotonic() + COMMIT_TIMEOUT
        while (stored := await _committed(conn, project_id)) < args.entries:
            if time.monotonic() > deadline:
                raise RuntimeError(f"only {stored} of {args.entries} rows committed")
            await asyncio.sleep(0.05)
        committed_elapsed = time.perf_counter() - started
        meter.stop()
    finally:
        await conn.close()
        for spy in spies:
            spy.wait(120)
    await _quiesce(dsn)
    # The table grows during a run, and a larger table takes rows more slowly: the run is
    # held to the mean of the ceilings just before and just after it.
    ceiling_after = await _copy_ceiling(dsn, ceiling_rows)
    ceiling = (ceiling_before + ceiling_after) / 2
    if alerts is not None:
        notes = await alert_rules.drop_rules(dsn, project_id)
        print(f"  with alert rules: {notes} notifications, {alerts.received} webhooks received")
    result = {
        "accepted": args.entries / sent["elapsed"],
        "committed": stored / committed_elapsed,
        "backlog": backlog,
        "p50": sent["p50"] * 1000,
        "p99": sent["p99"] * 1000,
        "statuses": sent["statuses"],
        "ceiling": ceiling,
        "cpu": meter.used,
        "elapsed": committed_elapsed,
        "scrubbing": scrubbing,
    }
    result["ratio"] = result["committed"] / ceiling
    cpu = "  ".join(f"{k} {v:.1f}s" for k, v in meter.used.items())
    print(
        f"  accepted {result['accepted']:8.0f}/s  committed {result['committed']:8.0f}/s"
        f"  p50/p99 {result['p50']:.0f}/{result['p99']:.0f} ms  COPY {ceiling:8.0f} rows/s"
        f" ({ceiling_before:.0f} before, {ceiling_after:.0f} after)"
        f"  ratio {result['ratio']:.0%}  rows committed when sending ended {backlog}"
        f"\n  responses {sent['statuses']}  CPU over {committed_elapsed:.1f}s: {cpu}",
        flush=True,
    )
    return result


async def _setup(database_url: str, name: str) -> tuple[int, str]:
    conn = await asyncpg.connect(database_url)
    try:
        await migrate(conn)
        project = await create_project(conn, name)
        _, key = await create_api_key(conn, project.id)
        return project.id, key
    finally:
        await conn.close()


async def _scrubbing_off(database_url: str, project_id: int) -> None:
    """No scrubbing for this project (its scrubber returns at once): the A/B's "off" side."""
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute(
            "INSERT INTO project_scrubbing (project_id, defaults_enabled) VALUES ($1, false)",
            project_id,
        )
    finally:
        await conn.close()


def _summary(args: argparse.Namespace, results: list[dict]) -> None:
    if args.scrub_alternate:
        for scrubbing in (True, False):
            print(f"\n--- PII scrubbing {'on' if scrubbing else 'off'}")
            _summary_of(args, [r for r in results if r["scrubbing"] is scrubbing])
        return
    _summary_of(args, results)


def _summary_of(args: argparse.Namespace, results: list[dict]) -> None:
    def med(key: str) -> float:
        return statistics.median(r[key] for r in results)

    print(
        f"\nmedian of {len(results)} runs, {args.entries} entries each,"
        f" {args.batch} per request, concurrency {args.concurrency},"
        f" {args.api_workers} API process(es), {args.workers} worker(s):"
    )
    print(f"accepted (API 202)           {med('accepted'):10.0f} entries/s")
    print(f"committed end to end         {med('committed'):10.0f} entries/s")
    print(f"API latency p50 / p99        {med('p50'):.1f} ms / {med('p99'):.1f} ms")
    print(f"COPY ceiling (same runs)     {med('ceiling'):10.0f} rows/s")
    print(f"committed / COPY ceiling     {med('ratio'):10.0%}")
    print("CPU seconds per 10,000 entries (median):")
    for party in results[0]["cpu"]:
        per = statistics.median(r["cpu"][party] * 10_000 / args.entries for r in results)
        print(f"  {party:12s} {per:6.2f}")
    total = statistics.median(sum(r["cpu"].values()) * 10_000 / args.entries for r in results)
    print(f"  {'total':12s} {total:6.2f}")


async def _compare_alerts(
    args: argparse.Namespace,
    dsn: str,
    port: int,
    groups: Callable[[], dict[str, list[psutil.Process]]],
    pids: dict,
) -> None:
    """Runs without and with alert rules, alternating (drift hits both alike); both medians."""
    receiver = alert_rules.Receiver()
    try:
        plain, ruled = [], []
        for i in range(args.runs):
            plain.append(await _run(args, dsn, port, groups, pids, 2 * i))
            ruled.append(await _run(args, dsn, port, groups, pids, 2 * i + 1, receiver))
    finally:
        receiver.close()
    _summary(args, plain)
    print(f"\nwith {args.alert_rules} active alert rules of each kind:")
    _summary(args, ruled)
    base = statistics.median(r["committed"] for r in plain)
    with_rules = statistics.median(r["committed"] for r in ruled)
    print(
        f"\ncommitted entries/s, median: {base:.0f} without rules, {with_rules:.0f} with"
        f" {4 * args.alert_rules} rules: {with_rules / base - 1:+.1%}"
    )

    def cpu(results: list[dict]) -> float:  # all parties, per 10,000 entries
        return statistics.median(sum(r["cpu"].values()) * 10_000 / args.entries for r in results)

    print(
        f"CPU seconds per 10,000 entries, median: {cpu(plain):.3f} without rules,"
        f" {cpu(ruled):.3f} with: {cpu(ruled) / cpu(plain) - 1:+.1%}"
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    # Long enough to be a sustained rate: a 100,000-entry burst lasts ~2 s, and its start
    # (connections, first partitions) and its tail (the last digest window) weigh on it.
    parser.add_argument("--entries", type=int, default=300_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--batch", type=int, default=BATCH, help="entries per request (1-1000)")
    parser.add_argument("--api-workers", type=int, default=1)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="TRACEHUB_NAME=VALUE",
        help="a setting for the API and the workers (repeatable)",
    )
    parser.add_argument("--profile", default=None, help="folder for py-spy profiles (run 1)")
    parser.add_argument(
        "--alert-rules",
        type=int,
        default=0,
        metavar="N",
        help="also measure, interleaved, runs with N active alert rules of each kind",
    )
    parser.add_argument(
        "--scrub-alternate",
        action="store_true",
        help="even runs scrub PII (the default), odd runs do not: medians of each side",
    )
    args = parser.parse_args()
    overrides = {}
    for setting in args.set:
        variable, sep, value = setting.partition("=")
        if not sep or not variable.startswith("TRACEHUB_"):
            parser.error(f"--set wants TRACEHUB_NAME=VALUE, got {setting!r}")
        overrides[variable] = value

    name = f"th_bench_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(ADMIN_URL)
    await admin.execute(f'CREATE DATABASE "{name}"')
    rabbitmqctl("add_vhost", name)
    rabbitmqctl("set_permissions", "-p", name, "guest", ".*", ".*", ".*")
    dsn = ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    port = 18000 + random.randrange(1000)
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRACEHUB_")}
    env.update(
        TRACEHUB_DATABASE_URL=dsn,
        TRACEHUB_AMQP_URL=f"{AMQP_BASE}/{name}",
        TRACEHUB_LOG_LEVEL="warning",
        TRACEHUB_MAX_QUEUE_DEPTH="1000000",
    )
    if args.alert_rules:  # evaluate the windowed rules often, so every run pays for it
        env["TRACEHUB_ALERT_EVALUATE_SECONDS"] = "5"
    env.update(overrides)
    processes: list[subprocess.Popen] = []
    log = Path(f"/tmp/{name}.log").open("ab")  # noqa: SIM115 - closed in finally, spans awaits
    try:
        await _setup(dsn, "bench-setup")
        # Production tables are not empty, and COPY into an empty one is its best case:
        # the runs start on a table already holding a run's worth of rows (untimed).
        await _copy_ceiling(dsn, args.entries)
        server_args = ["server", "--port", str(port), "--workers", str(args.api_workers)]
        api = subprocess.Popen([*TRACEHUB, *server_args], env=env, stdout=log, stderr=log)
        processes.append(api)
        workers = [
            subprocess.Popen([*TRACEHUB, "worker"], env=env, stdout=log, stderr=log)
            for _ in range(args.workers)
        ]
        processes.extend(workers)
        for _ in range(600):
            try:
                if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.1)
        await asyncio.sleep(1)  # the workers have connected and the API's children exist

        def find() -> dict[str, list[psutil.Process]]:
            return _pipeline_processes(api, workers, name)

        pids = {"api": find()["API"][-1].pid, "worker": workers[0].pid}
        if args.alert_rules:
            await _compare_alerts(args, dsn, port, find, pids)
        else:
            results = [await _run(args, dsn, port, find, pids, i) for i in range(args.runs)]
            _summary(args, results)
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(60)
            except subprocess.TimeoutExpired:
                process.kill()
        log.close()
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
        rabbitmqctl("delete_vhost", name)


if __name__ == "__main__":
    asyncio.run(main())
