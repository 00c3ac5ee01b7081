"""Ingest throughput of the same entries natively, as OTLP protobuf and as Sentry envelopes.

Usage: ``python bench/bench_protocols.py [--entries 60000] [--runs 3] [--batch 50]
[--concurrency 8] [--slices 6] [--mode served|stored|inprocess|decode]``
(``TRACEHUB_BENCH_PG_URL`` / ``TRACEHUB_BENCH_AMQP_URL`` as for ``bench_server.py``).

One run starts a real ``tracehub server`` publishing to RabbitMQ (a scratch database and
vhost) and one worker, then sends the same entries three ways, each as gzip bodies of
``--batch`` entries over keep-alive connections: native JSON to ``/api/v1/ingest``; an
OTLP ``ExportLogsServiceRequest`` (protobuf) to ``/v1/logs``; a Sentry envelope to
``/api/<id>/envelope/`` (the ERROR entries as ``event`` items with their exception and
frames, the others as one ``log`` item). Each protocol's requests go in ``--slices`` parts,
the protocols taking turns (the order rotating), so a change in a shared machine's load
meets all three alike. Entries are 10 % errors with a traceback, like
``bench_server.py``'s. Real Sentry SDKs send one event per envelope; packing the batch
measures the per-entry cost, which is what the protocol adds (the per-request cost is the
same for every protocol).

Bodies are built before the clock starts. Reported per protocol: entries/s accepted (the
time until every request got its 2xx) and the API process's CPU seconds per 10,000 entries,
and the ratio of each to native. Medians over the runs are printed last; the target is
>= 70 % of native entries/s for both protocols.

``--mode stored`` sends each protocol's requests in turn (the order rotating by run), each
to a project of its own, and times them until the worker has committed every entry: the
entries/s a deployment sustains end to end, with the accepted rate and the API's and the
worker's CPU per entry beside it.

``--mode inprocess`` times the three ASGI views alone in this process (no HTTP server, a
queue that only encodes the message, keys always valid): CPU microseconds per entry of what
each protocol's path costs, free of the noise of a shared machine.

``--mode decode`` times reading the OTLP bodies' records (body and attributes into Python
values) with the generated classes, as the server does, against a wire-compatible lean
schema (``KeyValue.value`` and ``LogRecord.body`` declared ``bytes``, each distinct value
encoding read once per request): CPU microseconds per record, and the lean schema's floor.
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
import time
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import orjson
import psutil
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.common.v1 import common_pb2
from opentelemetry.proto.common.v1.common_pb2 import AnyValue
from opentelemetry.proto.logs.v1 import logs_pb2
from opentelemetry.proto.resource.v1 import resource_pb2

from bench_server import ADMIN_URL, AMQP_BASE, LEVELS, TRACEHUB, rabbitmqctl, read_response
from tracehub_server.storage.db import migrate
from tracehub_server.storage.projects import create_api_key, create_project

SEVERITY = {"DEBUG": 5, "INFO": 9, "WARN": 13, "ERROR": 17}
PROTOCOLS = ("native", "otlp", "sentry")


def _frames(kind: int, line: int) -> list[tuple[str, int, str, str]]:
    return [
        ("/app/service/api.py", 40 + line, "handle", "return run(req)"),
        (f"/app/service/module{kind}.py", line, f"step{kind}", "do()"),
    ]


def _entry(i: int) -> dict[str, Any]:
    """Entry ``i``: the fields every protocol can carry, 10 % errors with a traceback."""
    entry: dict[str, Any] = {
        "event_id": secrets.token_hex(16),
        "time_ns": time.time_ns(),
        "level": random.choice(LEVELS),
        "message": f"handled request {i}",
        "module": "orders",
        # Each protocol names the thread as its SDK does: TraceHub's by name (text), the
        # OTLP exporter and the Sentry SDK by ident (an integer attribute).
        "thread_name": "ThreadPoolExecutor-0_3",
        "thread_ident": 140_234_567_890_123,
        "extra": {"user_id": i % 1000, "path": "/api/orders", "ms": i % 300},
    }
    if i % 10 == 0:
        kind, line = random.randrange(20), random.randrange(1, 9)
        entry.update(
            level="ERROR",
            message=f"order {i} failed",
            error_type=f"Error{kind}",
            error_message=f"failed for order {i}",
            frames=_frames(kind, line),
        )
    return entry


def _traceback(entry: dict[str, Any]) -> str:
    lines = ["Traceback (most recent call last):\n"]
    for path, line, function, code in entry["frames"]:
        lines.append(f'  File "{path}", line {line}, in {function}\n    {code}\n')
    lines.append(f"{entry['error_type']}: {entry['error_message']}\n")
    return "".join(lines)


RESOURCE = {"service": "bench", "environment": "production", "host": "bench-host", "pid": 1234}


def _native(entries: list[dict[str, Any]]) -> bytes:
    wire = []
    for e in entries:
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(e["time_ns"] // 10**9))
        item = {
            "event_id": e["event_id"],
            "timestamp": f"{stamp}.{e['time_ns'] // 10**6 % 1000:03d}+00:00",
            "level": e["level"],
            "message": e["message"],
            **RESOURCE,
            "thread_id": e["thread_name"],
            "module": e["module"],
            "extra": e["extra"],
        }
        if "frames" in e:
            item.update(
                error_type=e["error_type"],
                error_message=e["error_message"],
                stack_trace=_traceback(e),
            )
        wire.append(item)
    return orjson.dumps(wire)


def _set(value: AnyValue, raw: Any) -> None:
    if isinstance(raw, str):
        value.string_value = raw
    else:
        value.int_value = raw


def _otlp(entries: list[dict[str, Any]]) -> bytes:
    request = ExportLogsServiceRequest()
    resource_logs = request.resource_logs.add()
    for key, raw in (("service.name", "bench"), ("deployment.environment.name", "production"),
                     ("host.name", "bench-host"), ("process.pid", 1234)):  # fmt: skip
        _set(resource_logs.resource.attributes.add(key=key).value, raw)
    records = resource_logs.scope_logs.add().log_records
    for e in entries:
        record = records.add(time_unix_nano=e["time_ns"], severity_number=SEVERITY[e["level"]])
        record.body.string_value = e["message"]
        attributes = {"code.namespace": e["module"], "thread.id": e["thread_ident"], **e["extra"]}
        if "frames" in e:
            attributes["exception.type"] = e["error_type"]
            attributes["exception.message"] = e["error_message"]
            attributes["exception.stacktrace"] = _traceback(e)
        for key, raw in attributes.items():
            _set(record.attributes.add(key=key).value, raw)
    return request.SerializeToString()


def _sentry_event(e: dict[str, Any]) -> dict[str, Any]:
    frames = [
        {"abs_path": path, "filename": path, "lineno": line, "function": function,
         "context_line": code, "in_app": True}
        for path, line, function, code in e["frames"]
    ]  # fmt: skip
    return {
        "event_id": e["event_id"],
        "timestamp": e["time_ns"] / 1e9,
        "level": "error",
        "platform": "python",
        "logger": e["module"],
        "server_name": "bench-host",
        "environment": "production",
        "tags": {"service": "bench"},
        "extra": e["extra"],
        "exception": {
            "values": [
                {
                    "type": e["error_type"],
                    "value": e["error_message"],
                    "stacktrace": {"frames": frames},
                }
            ]
        },
    }


def _sentry_log(e: dict[str, Any]) -> dict[str, Any]:
    attributes = {
        "sentry.environment": "production",
        "server.address": "bench-host",
        "logger.name": e["module"],
        "thread.id": e["thread_ident"],
        **e["extra"],
    }
    return {
        "timestamp": e["time_ns"] / 1e9,
        "level": e["level"].lower(),
        "body": e["message"],
        "attributes": {
            key: {"value": value, "type": "string" if isinstance(value, str) else "integer"}
            for key, value in attributes.items()
        },
    }


def _sentry(entries: list[dict[str, Any]]) -> bytes:
    parts = [orjson.dumps({"sent_at": "2026-01-01T00:00:00Z"})]
    logs = []
    for e in entries:
        if "frames" in e:
            payload = orjson.dumps(_sentry_event(e))
            parts += [orjson.dumps({"type": "event", "length": len(payload)}), payload]
        else:
            logs.append(_sentry_log(e))
    if logs:
        payload = orjson.dumps({"items": logs})
        header = {"type": "log", "length": len(payload), "item_count": len(logs),
                  "content_type": "application/vnd.sentry.items.log+json"}  # fmt: skip
        parts += [orjson.dumps(header), payload]
    return b"\n".join(parts) + b"\n"


def _requests(protocol: str, entries: list[dict], batch: int, key: str, project_id: int,
              port: int) -> list[bytes]:  # fmt: skip
    """Complete HTTP/1.1 requests (headers + gzip body), ready to be written to a socket."""
    path, kind, auth = {
        "native": ("/api/v1/ingest", "application/json", f"X-API-Key: {key}"),
        "otlp": ("/v1/logs", "application/x-protobuf", f"X-API-Key: {key}"),
        "sentry": (f"/api/{project_id}/envelope/", "application/x-sentry-envelope",
                   f"X-Sentry-Auth: Sentry sentry_key={key}, sentry_version=7"),
    }[protocol]  # fmt: skip
    build = {"native": _native, "otlp": _otlp, "sentry": _sentry}[protocol]
    out = []
    for start in range(0, len(entries), batch):
        body = gzip.compress(build(entries[start : start + batch]), 6)
        head = (
            f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n{auth}\r\n"
            f"Content-Type: {kind}\r\nContent-Encoding: gzip\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        )
        out.append(head.encode() + body)
    return out


async def _send(port: int, requests: list[bytes], concurrency: int) -> float:
    """Seconds until every request got a 2xx (429/503 are retried after Retry-After)."""
    queue = list(reversed(requests))

    async def sender() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            while queue:
                request = queue.pop()
                while True:
                    writer.write(request)
                    status, retry_after = await read_response(reader)
                    if 200 <= status < 300:
                        break
                    if status not in (429, 503):
                        raise RuntimeError(f"unexpected status {status}")
                    await asyncio.sleep(retry_after)
        finally:
            writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(sender() for _ in range(concurrency)))
    return time.perf_counter() - started


def _cpu(process: psutil.Process) -> float:
    total = 0.0
    for p in [process, *process.children(recursive=True)]:
        times = p.cpu_times()
        total += times.user + times.system
    return total


async def _setup(dsn: str) -> tuple[int, str]:
    conn = await asyncpg.connect(dsn)
    try:
        await migrate(conn)
        project = await create_project(conn, f"bench-{secrets.token_hex(4)}")
        _, key = await create_api_key(conn, project.id)
        return project.id, key
    finally:
        await conn.close()


async def _measure(args: argparse.Namespace, dsn: str, port: int, api: psutil.Process) -> dict:
    """One run: each protocol's requests in ``--slices`` parts, sent in turn (the order
    rotating), so a change in the machine's load meets every protocol alike."""
    project_id, key = await _setup(dsn)
    entries = [_entry(i) for i in range(args.entries)]
    requests = {p: _requests(p, entries, args.batch, key, project_id, port) for p in PROTOCOLS}
    elapsed = dict.fromkeys(PROTOCOLS, 0.0)
    used = dict.fromkeys(PROTOCOLS, 0.0)
    for part in range(args.slices):
        for turn in range(len(PROTOCOLS)):
            protocol = PROTOCOLS[(part + turn) % len(PROTOCOLS)]
            share = requests[protocol][part :: args.slices]
            await asyncio.sleep(0.5)  # the previous part's backlog is digested meanwhile
            cpu = _cpu(api)
            elapsed[protocol] += await _send(port, share, args.concurrency)
            used[protocol] += _cpu(api) - cpu
    result = {}
    for protocol in PROTOCOLS:
        rate, cost = args.entries / elapsed[protocol], used[protocol] * 10_000 / args.entries
        result[protocol] = (rate, cost)
        print(f"  {protocol:7s} {rate:9.0f} entries/s  API CPU {cost:.3f} s per 10,000", flush=True)
    return result


async def _stored(
    args: argparse.Namespace, dsn: str, port: int, run: int, api: psutil.Process,
    worker: psutil.Process,
) -> dict:  # fmt: skip
    """One run of ``--mode stored``: each protocol in turn (the order rotating by run) to a
    project of its own, timed until the worker has committed every entry."""
    entries = [_entry(i) for i in range(args.entries)]
    result = {}
    conn = await asyncpg.connect(dsn)
    try:
        for turn in range(len(PROTOCOLS)):
            protocol = PROTOCOLS[(run + turn) % len(PROTOCOLS)]
            project_id, key = await _setup(dsn)
            requests = _requests(protocol, entries, args.batch, key, project_id, port)
            await asyncio.sleep(1.0)  # the previous protocol's connections and GC settle
            cpu = (_cpu(api), _cpu(worker))
            started = time.perf_counter()
            accepted = await _send(port, requests, args.concurrency)
            count = "SELECT count(*) FROM logs WHERE project_id = $1"
            while await conn.fetchval(count, project_id) < args.entries:
                await asyncio.sleep(0.05)
            elapsed = time.perf_counter() - started
            per_entry = [
                (_cpu(p) - before) * 1e6 / args.entries
                for p, before in zip((api, worker), cpu, strict=True)
            ]
            rate, accept_rate = args.entries / elapsed, args.entries / accepted
            result[protocol] = (rate, accept_rate, *per_entry)
            print(f"  {protocol:7s} {rate:9.0f} entries/s stored  ({accept_rate:.0f} accepted);"
                  f" CPU per entry: API {per_entry[0]:.1f} us, worker {per_entry[1]:.1f} us",
                  flush=True)  # fmt: skip
    finally:
        await conn.close()
    return result


def _stored_summary(args: argparse.Namespace, results: list[dict]) -> None:
    print(f"\nmedian of {len(results)} runs, {args.entries} entries per protocol, {args.batch}"
          f" per request, concurrency {args.concurrency}, until committed:")  # fmt: skip
    print(f"{'protocol':10s} {'stored/s':>10s} {'vs native':>10s} {'accepted/s':>11s}"
          f" {'vs native':>10s} {'API us':>7s} {'worker us':>10s}")  # fmt: skip
    medians = {
        protocol: [statistics.median(r[protocol][i] for r in results) for i in range(4)]
        for protocol in PROTOCOLS
    }
    native = medians["native"]
    for protocol, (rate, accepted, api, worker) in medians.items():
        print(f"{protocol:10s} {rate:10.0f} {rate / native[0]:10.0%} {accepted:11.0f}"
              f" {accepted / native[1]:10.0%} {api:7.1f} {worker:10.1f}")  # fmt: skip


def _summary(args: argparse.Namespace, results: list[dict]) -> None:
    print(f"\nmedian of {len(results)} runs, {args.entries} entries per protocol,"
          f" {args.batch} per request, concurrency {args.concurrency}:")  # fmt: skip
    print(f"{'protocol':10s} {'entries/s':>10s} {'vs native':>10s} {'API CPU/10k':>12s}")
    native = statistics.median(r["native"][0] for r in results)
    native_cpu = statistics.median(r["native"][1] for r in results)
    for protocol in PROTOCOLS:
        rate = statistics.median(r[protocol][0] for r in results)
        cpu = statistics.median(r[protocol][1] for r in results)
        print(f"{protocol:10s} {rate:10.0f} {rate / native:10.0%} {cpu:10.3f} s"
              f"  ({native_cpu / cpu:.0%} of native's entries per CPU second)")  # fmt: skip


def _views() -> dict[str, Any]:
    from tracehub_server.api import ingest
    from tracehub_server.api.otlp import routes as otlp
    from tracehub_server.api.sentry import routes as sentry

    return {"native": ingest.serve, "otlp": otlp.serve, "sentry": sentry.serve}


class _EncodingQueue:
    """The queue seam doing what a publish does on the API's side: encode the entries."""

    async def publish(self, batch: Any) -> None:
        from tracehub_server.queue.messages import encode_entries

        encode_entries(batch.entries)

    async def depth(self) -> int:
        return 0


class _AnyKey:
    async def lookup(self, key: str) -> Any:
        from tracehub_server.storage.projects import ApiKeyAuth

        return ApiKeyAuth(key_id=1, project_id=1, revoked=False)


class _NoUsage:
    def record(self, key_id: int, when: Any) -> None:
        pass


async def _in_process(args: argparse.Namespace) -> None:
    from tracehub_server.api.ingest import IngestService
    from tracehub_server.api.ratelimit import RateLimiter
    from tracehub_server.api.validation import EntryValidator

    service = IngestService(
        keys=_AnyKey(), usage=_NoUsage(), limiter=RateLimiter(rate=0),  # type: ignore[arg-type]
        validator=EntryValidator(retention_days=30), queue=_EncodingQueue(),  # type: ignore[arg-type]
        max_queue_depth=10**9,
    )  # fmt: skip
    views = _views()
    results: dict[str, list[float]] = {protocol: [] for protocol in PROTOCOLS}
    for index in range(args.runs):
        entries = [_entry(i) for i in range(args.entries)]
        for protocol in PROTOCOLS:
            requests = _requests(protocol, entries, args.batch, "k", 1, 0)
            started = time.process_time()
            for request in requests:
                await _call(views[protocol], service, request)
            used = time.process_time() - started
            results[protocol].append(used / args.entries * 1e6)
        print(f"run {index + 1}: " + "  ".join(
            f"{p} {results[p][-1]:.2f} us/entry" for p in PROTOCOLS), flush=True)  # fmt: skip
    native = statistics.median(results["native"])
    print(f"\nmedian of {args.runs} runs, in process, CPU per entry ({args.batch} per request):")
    for protocol in PROTOCOLS:
        cost = statistics.median(results[protocol])
        print(f"{protocol:10s} {cost:6.2f} us  ({native / cost:.0%} of native's entries per CPU s)")


def _lean_request_class() -> Any:
    """``ExportLogsServiceRequest`` with ``KeyValue.value`` and ``LogRecord.body`` as bytes:
    the same wire format, each ``AnyValue`` left as its encoding."""
    pool = descriptor_pool.DescriptorPool()
    for module in (common_pb2, resource_pb2, logs_pb2, logs_service_pb2):
        proto = descriptor_pb2.FileDescriptorProto()
        module.DESCRIPTOR.CopyToProto(proto)
        for message in proto.message_type:
            for field in message.field:
                if (message.name, field.name) in {("KeyValue", "value"), ("LogRecord", "body")}:
                    field.type = descriptor_pb2.FieldDescriptorProto.TYPE_BYTES
                    field.ClearField("type_name")
        pool.Add(proto)
    name = ExportLogsServiceRequest.DESCRIPTOR.full_name
    return message_factory.GetMessageClass(pool.FindMessageTypeByName(name))


def _decode_readers() -> dict[str, Any]:
    """Each way of reading a body's records, by name: a list of (body, attributes)."""
    from tracehub_server.api.otlp.decode import _pb_attributes, _pb_value

    lean = _lean_request_class()

    def lean_value(raw: bytes) -> Any:
        """A short string or a small integer read from its encoding; the real class else."""
        size = len(raw)
        if size > 1:
            tag, first = raw[0], raw[1]
            if tag == 0x0A and first < 0x80 and size == first + 2:
                return raw[2:].decode()
            if tag == 0x18:
                value = shift = 0
                for index in range(1, size):
                    value |= (raw[index] & 0x7F) << shift
                    shift += 7
                    if raw[index] < 0x80:
                        if index == size - 1:
                            return value
                        break
        return _pb_value(AnyValue.FromString(raw))

    class LeanValues(dict[bytes, Any]):
        def __missing__(self, raw: bytes) -> Any:
            value = self[raw] = lean_value(raw)
            return value

    def records(request: Any) -> Any:
        return (r for rl in request.resource_logs for sl in rl.scope_logs for r in sl.log_records)

    def generated(body: bytes) -> list[Any]:
        out = []
        for record in records(ExportLogsServiceRequest.FromString(body)):
            payload = record.body
            out.append(
                (payload.string_value or _pb_value(payload), _pb_attributes(record.attributes))
            )
        return out

    def lean_uncached(body: bytes) -> list[Any]:
        return [
            (lean_value(r.body), {p.key: lean_value(p.value) for p in r.attributes})
            for r in records(lean.FromString(body))
        ]

    def lean_cached(body: bytes) -> list[Any]:
        request, values = lean.FromString(body), LeanValues()
        # A field sent twice: the lean schema keeps the last, the real one merges both.
        if request.ByteSize() != len(body):
            raise RuntimeError("the bench's bodies are written canonically")
        return [
            (lean_value(r.body), {p.key: values[p.value] for p in r.attributes})
            for r in records(request)
        ]

    def lean_floor(body: bytes) -> list[Any]:
        return [
            (r.body, {p.key: p.value for p in r.attributes}) for r in records(lean.FromString(body))
        ]

    return {
        "generated": generated,
        "lean": lean_uncached,
        "lean, cached": lean_cached,
        "lean floor": lean_floor,
    }


def _decode(args: argparse.Namespace) -> None:
    entries = [_entry(i) for i in range(args.entries)]
    bodies = [_otlp(entries[i : i + args.batch]) for i in range(0, args.entries, args.batch)]
    readers = _decode_readers()
    if readers["lean, cached"](bodies[0]) != readers["generated"](bodies[0]):
        raise RuntimeError("the lean reading differs from the generated classes'")
    results: dict[str, list[float]] = {name: [] for name in readers}
    for _ in range(args.runs):
        for name, read in readers.items():
            started = time.process_time()
            for body in bodies:
                read(body)
            results[name].append((time.process_time() - started) / args.entries * 1e6)
    base = statistics.median(results["generated"])
    print(f"median of {args.runs} runs, CPU per record to read its body and attributes:")
    for name, costs in results.items():
        cost = statistics.median(costs)
        print(f"{name:14s} {cost:6.2f} us  ({cost / base:.0%} of the generated classes')")


async def _call(view: Any, service: Any, request: bytes) -> None:
    head, _, body = request.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    _, path, _ = lines[0].split(b" ")
    headers = []
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        headers.append((name.strip().lower(), value.strip()))
    scope = {"type": "http", "method": "POST", "path": path.decode(), "query_string": b"",
             "headers": headers}  # fmt: skip
    sent: list[Any] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: Any) -> None:
        sent.append(message)

    await view(service, scope, receive, send)
    if sent[0]["status"] not in (200, 202):
        raise RuntimeError(f"{path.decode()} answered {sent[0]['status']}: {sent[1]['body']!r}")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=60_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--batch", type=int, default=50, help="entries per request (1-1000)")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--slices", type=int, default=6, help="parts per protocol and run")
    modes = ("served", "stored", "inprocess", "decode")
    parser.add_argument("--mode", choices=modes, default="served")
    args = parser.parse_args()
    if args.mode == "decode":
        _decode(args)
        return
    if args.mode == "inprocess":
        await _in_process(args)
        return

    name = f"th_bench_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(ADMIN_URL)
    await admin.execute(f'CREATE DATABASE "{name}"')
    rabbitmqctl("add_vhost", name)
    rabbitmqctl("set_permissions", "-p", name, "guest", ".*", ".*", ".*")
    dsn = ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    port = 19000 + random.randrange(1000)
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
        await _setup(dsn)
        server = subprocess.Popen(
            [*TRACEHUB, "server", "--port", str(port)], env=env, stdout=log, stderr=log
        )
        processes.append(server)
        worker = subprocess.Popen([*TRACEHUB, "worker"], env=env, stdout=log, stderr=log)
        processes.append(worker)
        for _ in range(600):
            try:
                if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.1)
        api = psutil.Process(server.pid)
        results = []
        for index in range(args.runs):
            print(f"run {index + 1}:", flush=True)
            if args.mode == "stored":
                results.append(
                    await _stored(args, dsn, port, index, api, psutil.Process(worker.pid))
                )
            else:
                results.append(await _measure(args, dsn, port, api))
        (_stored_summary if args.mode == "stored" else _summary)(args, results)
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
        log.close()
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
        rabbitmqctl("delete_vhost", name)


if __name__ == "__main__":
    asyncio.run(main())
