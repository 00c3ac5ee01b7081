"""What the SDK's delivery costs: throughput to another process, and memory per entry.

Prints medians; nothing here asserts on time (docs/performance.md has the figures).

    .venv/bin/python bench/bench_sdk.py [--quick]

* delivery throughput to a receiver in another process (a tiny HTTP server that
  discards bodies), and the app thread's per-call cost while the worker ships;
* memory per buffered entry (tracemalloc).

The caller path's cost per call against stdlib logging is measured by pyperf in
``micro_sdk.py``, which uses this module's logger recipes.

The integrations (each framework middleware's cost per request, the ``logging`` bridge
against a ``QueueHandler``) have their own script, ``bench_integrations.py``, which uses
this one's idle-logger recipe.
"""

from __future__ import annotations

import argparse
import gc
import logging
import logging.handlers
import queue
import subprocess
import sys
import textwrap
import time
import tracemalloc
from collections.abc import Sequence

from tracehub import TraceHubLogger
from tracehub.models import SendResult
from tracehub.transport import Transport

EXTRA = {"user_id": 42, "ip": "10.0.0.1"}

RECEIVER = textwrap.dedent(
    """
    import sys
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Sink(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True
        def log_message(self, *args):
            pass
        def do_POST(self):
            left = int(self.headers.get("Content-Length") or 0)
            while left:
                left -= len(self.rfile.read(min(left, 1 << 20)))
            body = b'{"accepted": 0, "rejected": []}'
            self.send_response(202)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Sink)
    print(server.server_address[1], flush=True)
    server.serve_forever()
    """
)


class _Discard(Transport):
    """Accepts every batch without I/O: the caller-side rounds measure only the call."""

    def send(self, batch: Sequence[bytes], *, deadline: float | None = None) -> SendResult:
        return SendResult(delivered=len(batch))


def idle_logger(max_buffer: int) -> TraceHubLogger:
    """A logger whose worker never wakes during a round: pure caller-side cost."""
    logger = TraceHubLogger(
        api_key="bench",
        service="bench",
        environment="bench",
        batch_size=1000,
        flush_interval=3600.0,
        max_buffer=max_buffer,
        dlq_path=None,
        transport=_Discard(),
    )
    logger.info("warm-up")  # starts the worker once
    # Never reach the batch threshold: the worker stays asleep, the call path is unchanged.
    logger._threshold = 1 << 62
    return logger


def _quiet_close(logger: TraceHubLogger) -> None:
    logger._buffer.queue.clear()
    logger.close(timeout=0)


def _stdlib_logger() -> tuple[logging.Logger, queue.SimpleQueue[logging.LogRecord]]:
    sink: queue.SimpleQueue[logging.LogRecord] = queue.SimpleQueue()
    log = logging.getLogger("bench.stdlib")
    log.handlers[:] = [logging.handlers.QueueHandler(sink)]
    log.propagate = False
    log.setLevel(logging.DEBUG)
    return log, sink


def bench_throughput(total: int) -> tuple[float, float]:
    """Entries/s delivered to another process, and per-call µs while the worker ships."""
    proc = subprocess.Popen([sys.executable, "-c", RECEIVER], stdout=subprocess.PIPE, text=True)
    try:
        port = int(proc.stdout.readline())  # type: ignore[union-attr]
        th = TraceHubLogger(
            api_key="bench",
            service="bench",
            environment="bench",
            endpoint=f"http://127.0.0.1:{port}",
            batch_size=1000,
            flush_interval=0.2,
            max_buffer=total + 10,
            dlq_path=None,
        )
        th.info("warm-up")
        th.flush(10)
        start = time.perf_counter()
        for _ in range(total):
            th.info("user logged in", module="auth", extra=EXTRA)
        app_elapsed = time.perf_counter() - start
        th.flush(120)
        elapsed = time.perf_counter() - start
        stats = th.stats()
        th.close(timeout=5)
        if stats.sent < total:
            print(f"  warning: only {stats.sent} of {total} delivered ({stats})")
        return stats.sent / elapsed, app_elapsed / total * 1e6
    finally:
        proc.kill()
        proc.wait()


def bench_memory(count: int) -> float:
    """Bytes allocated per buffered entry of the benchmark call (SDK allocations only)."""
    th = idle_logger(max_buffer=count + 10)
    th._buffer.queue.clear()
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.take_snapshot()
    for _ in range(count):
        th.info("user logged in", module="auth", extra=EXTRA)
    after = tracemalloc.take_snapshot()
    tracemalloc.stop()
    # Only what the SDK's code allocated: other threads' garbage must not count.
    sdk = [tracemalloc.Filter(True, "*/tracehub/*")]
    diff = after.filter_traces(sdk).compare_to(before.filter_traces(sdk), "filename")
    buffered = len(th._buffer)
    _quiet_close(th)
    return sum(stat.size_diff for stat in diff) / buffered


def main() -> None:
    """Run every benchmark and print a small report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer calls (CI smoke run)")
    args = parser.parse_args()
    calls, total = (1_000, 20_000) if args.quick else (2_000, 200_000)

    rate, busy = bench_throughput(total)
    print(f"delivery to a receiver in another process ({total} entries)")
    print(f"  throughput          : {rate:9,.0f} entries/s (target >= 100,000)")
    print(f"  app per-call cost   : {busy:7.2f} µs while the worker ships")

    per_entry = bench_memory(calls)
    print(f"memory per buffered entry: {per_entry:.0f} bytes (target <= 1024)")


if __name__ == "__main__":
    main()
