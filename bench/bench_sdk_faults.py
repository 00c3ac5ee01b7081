"""The SDK under server faults: lost, duplicated, drain time and peak memory, old vs new.

Three scenarios, each at 1,000 and 5,000 entries/s, for this tree and for a baseline
tree (by default the branch point, extracted with ``git archive``), in the same run:

* **stopped** — the server stops listening for the fault window, then comes back;
* **hanging** — it accepts connections and never answers during the window;
* **429** — it answers ``429`` with ``Retry-After`` during the window.

An app process (its own interpreter, ``PYTHONPATH`` pointing at the tree under test)
logs numbered entries at the given rate with the SDK's default settings and a private
dead-letter directory, the receiver (in this process) counts each number, and the
script reports, per run: entries lost and duplicated once delivery settled, seconds
from the end of the fault until every entry had arrived (``-`` when some never did
within the settle window), the app's peak RSS, and the logging call's p99 and max.

    .venv/bin/python bench/bench_sdk_faults.py [--scale 0.25] [--baseline-ref 0ef8106]

``--scale`` multiplies every duration (1.0: 40 s of logging with a 20 s fault, and up
to 60 s to settle); the header says what ran.
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import json
import os
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import orjson

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = ("stopped", "hanging", "429")
RATES = (1_000, 5_000)

APP = textwrap.dedent(
    """
    import json, os, resource, sys, time
    from tracehub import TraceHubLogger

    endpoint, rate, seconds, dlq = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
    logger = TraceHubLogger(api_key="bench", service="faults", environment="bench",
                            endpoint=endpoint, dlq_path=dlq)
    per_tick, tick = max(rate // 100, 1), 0.01
    latencies, seq = [], 0
    print("start", flush=True)
    began = time.perf_counter()
    while seq < rate * seconds:
        for _ in range(per_tick):
            t0 = time.perf_counter()
            logger.info("numbered", extra={"seq": seq})
            latencies.append(time.perf_counter() - t0)
            seq += 1
        ahead = began + seq / rate - time.perf_counter()
        if ahead > 0:
            time.sleep(ahead)
    print("logged", flush=True)
    sys.stdin.readline()  # the bench says when delivery settled
    stats = logger.stats()
    logger.close()
    latencies.sort()
    print(json.dumps({
        "logged": seq,
        "dropped": stats.dropped,
        "lost": stats.lost,
        "p99_us": latencies[int(len(latencies) * 0.99)] * 1e6,
        "max_us": latencies[-1] * 1e6,
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }), flush=True)
    """
)


KILLED_APP = textwrap.dedent(
    """
    import mmap, struct, sys, time
    from tracehub import TraceHubLogger

    endpoint, rate, dlq, progress = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
    with open(progress, "r+b") as handle:
        shared = mmap.mmap(handle.fileno(), 8)
    logger = TraceHubLogger(api_key="bench", service="killed", environment="bench",
                            endpoint=endpoint, dlq_path=dlq)
    per_tick, seq = max(rate // 100, 1), 0
    print("start", flush=True)
    began = time.perf_counter()
    while True:
        for _ in range(per_tick):
            logger.info("numbered", extra={"seq": seq})
            seq += 1
            shared[:8] = struct.pack("q", seq)  # entries logged so far, read after kill -9
        ahead = began + seq / rate - time.perf_counter()
        if ahead > 0:
            time.sleep(ahead)
    """
)


# -- the receiver: counts sequence numbers, and misbehaves on request ---------------------


class FaultyReceiver:
    """An ingest endpoint on 127.0.0.1 that can stop, hang or throttle."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.seen: Counter[int] = Counter()
        #: First arrival (monotonic) of each sequence number.
        self.arrived: dict[int, float] = {}
        self.mode = "ok"
        self.retry_after = "5"
        self.release = threading.Event()
        self.conns: set[socket.socket] = set()
        self.server = self._bind(0)
        self.port = int(self.server.server_address[1])
        self._serve()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _bind(self, port: int) -> ThreadingHTTPServer:
        server = ThreadingHTTPServer(("127.0.0.1", port), _handler(self))
        server.daemon_threads = True
        return server

    def _serve(self) -> None:
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    def start_fault(self, scenario: str) -> None:
        if scenario == "stopped":
            self.server.shutdown()
            self.server.server_close()
            self._cut_connections()
        else:
            self.release = threading.Event()
            self.mode = scenario

    def end_fault(self, scenario: str) -> None:
        if scenario == "stopped":
            self.server = self._bind(self.port)
            self._serve()
        else:
            self.mode = "ok"
            self.release.set()

    def _cut_connections(self) -> None:
        with self.lock:
            conns = list(self.conns)
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()
        self._cut_connections()

    def accept(self, body: bytes) -> int:
        entries = orjson.loads(body)
        seqs = [e["extra"]["seq"] for e in entries]
        now = time.monotonic()
        with self.lock:
            self.seen.update(seqs)
            for seq in seqs:
                self.arrived.setdefault(seq, now)
        return len(entries)


def _handler(rx: FaultyReceiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True

        def log_message(self, *args: Any) -> None:
            pass

        def setup(self) -> None:
            super().setup()
            with rx.lock:
                rx.conns.add(self.connection)

        def finish(self) -> None:
            with rx.lock:
                rx.conns.discard(self.connection)
            with contextlib.suppress(OSError):
                super().finish()

        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            mode, release = rx.mode, rx.release
            if mode == "hanging":
                release.wait()
                self.close_connection = True
                return
            if mode == "429":
                self._reply(429, b'{"error": "queue full"}', {"Retry-After": rx.retry_after})
                return
            if self.headers.get("Content-Encoding") == "gzip":
                raw = gzip.decompress(raw)
            accepted = rx.accept(raw)
            self._reply(202, orjson.dumps({"accepted": accepted, "rejected": []}), {})

        def _reply(self, status: int, body: bytes, headers: dict[str, str]) -> None:
            try:
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            except OSError:
                self.close_connection = True

    return Handler


# -- one run ------------------------------------------------------------------------------


@dataclass
class Run:
    version: str
    scenario: str
    rate: int
    logged: int = 0
    lost: int = 0
    duplicated: int = 0
    drain_s: float | None = None
    app: dict[str, Any] = field(default_factory=dict)


def run_once(src: Path, version: str, scenario: str, rate: int, scale: float) -> Run:
    """Log for 40 s x scale with a fault from 10 s to 30 s (scaled); settle up to 60 s x scale."""
    seconds, fault_at, fault_end, settle = 40 * scale, 10 * scale, 30 * scale, 60 * scale
    rx = FaultyReceiver()
    rx.retry_after = str(max(1, round(5 * scale)))
    run = Run(version, scenario, rate)
    with tempfile.TemporaryDirectory(prefix="bench-faults-") as dlq:
        env = {**os.environ, "PYTHONPATH": str(src)}
        app = subprocess.Popen(
            [sys.executable, "-c", APP, rx.url, str(rate), str(seconds), dlq],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env, text=True,
        )  # fmt: skip
        assert app.stdout is not None
        assert app.stdin is not None
        app.stdout.readline()  # "start"
        began = time.monotonic()
        time.sleep(fault_at)
        rx.start_fault(scenario)
        time.sleep(max(began + fault_end - time.monotonic(), 0))
        rx.end_fault(scenario)
        recovered = time.monotonic()
        app.stdout.readline()  # "logged"
        expected = int(rate * seconds)
        deadline = time.monotonic() + settle
        while time.monotonic() < deadline:
            with rx.lock:
                done = len(rx.seen) >= expected
            if done:
                break
            time.sleep(0.05)
        # Drain time: until every entry logged before the recovery had arrived.
        before = int(rate * fault_end)
        with rx.lock:
            times = [rx.arrived.get(seq) for seq in range(before)]
        if all(t is not None for t in times):
            run.drain_s = max(max(t for t in times if t is not None) - recovered, 0.0)
        app.stdin.write("exit\n")
        app.stdin.flush()
        run.app = json.loads(app.stdout.readline() or "{}")
        app.wait(30)
    rx.close()
    run.logged = run.app.get("logged", expected)
    with rx.lock:
        run.lost = run.logged - len(rx.seen)
        run.duplicated = sum(n - 1 for n in rx.seen.values() if n > 1)
    return run


def killed_losses(src: Path, rate: int, trials: int, seconds: float) -> list[int]:
    """kill -9 an app logging at ``rate`` after ``seconds`` (+ jitter); entries never delivered."""
    losses = []
    for trial in range(trials):
        rx = FaultyReceiver()
        with tempfile.TemporaryDirectory(prefix="bench-kill-") as tmp:
            progress = Path(tmp) / "progress"
            progress.write_bytes(b"\0" * 8)
            app = subprocess.Popen(
                [sys.executable, "-c", KILLED_APP, rx.url, str(rate), tmp, str(progress)],
                stdout=subprocess.PIPE, env={**os.environ, "PYTHONPATH": str(src)}, text=True,
            )  # fmt: skip
            assert app.stdout is not None
            app.stdout.readline()
            time.sleep(seconds + 0.137 * trial % 1.0)
            app.kill()
            app.wait()
            logged = struct.unpack("q", progress.read_bytes()[:8])[0]
        time.sleep(0.2)  # requests already sent finish arriving
        with rx.lock:
            losses.append(logged - len(rx.seen))
        rx.close()
    return losses


def baseline_tree(ref: str, into: Path) -> Path:
    """Extract ``src/`` of ``ref`` into ``into`` and return its src directory."""
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", ref, "src"], check=True, capture_output=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into / "src"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="multiply every duration")
    parser.add_argument("--baseline-ref", default="0ef8106", help="git ref of the baseline")
    parser.add_argument("--rates", type=int, nargs="+", default=list(RATES))
    parser.add_argument("--scenarios", nargs="+", default=list(SCENARIOS), choices=SCENARIOS)
    parser.add_argument("--kill-trials", type=int, default=10, help="kill -9 runs (0: none)")
    args = parser.parse_args(argv)
    s = args.scale
    print(
        f"# logging {40 * s:.0f} s per run, fault from {10 * s:.0f} s to {30 * s:.0f} s, "
        f"settle up to {60 * s:.0f} s; 429 with Retry-After {max(1, round(5 * s))}; "
        f"SDK defaults (max_buffer 10,000, timeout 10 s); baseline {args.baseline_ref}"
    )
    print("| scenario | rate/s | version | logged | lost | duplicated | drain after recovery "
          "| peak RSS MiB | call p99 us | call max ms |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory(prefix="bench-baseline-") as tmp:
        trees = {"baseline": baseline_tree(args.baseline_ref, Path(tmp)), "this": ROOT / "src"}
        for scenario in args.scenarios:
            for rate in args.rates:
                for version, src in trees.items():
                    r = run_once(src, version, scenario, rate, s)
                    drain = "-" if r.drain_s is None else f"{r.drain_s:.1f} s"
                    print(
                        f"| {scenario} | {rate:,} | {version} | {r.logged:,} | {r.lost:,} | "
                        f"{r.duplicated:,} | {drain} | {r.app.get('peak_rss_mib', 0):.0f} | "
                        f"{r.app.get('p99_us', 0):.1f} | {r.app.get('max_us', 0) / 1000:.1f} |",
                        flush=True,
                    )
        if args.kill_trials:
            print("\n| kill -9 at 1,000/s, server healthy | trials | lost min | median | max |")
            print("|---|---|---|---|---|")
            for version, src in trees.items():
                lost = killed_losses(src, 1_000, args.kill_trials, max(2.0 * s, 1.0))
                print(
                    f"| {version} | {len(lost)} | {min(lost)} | {statistics.median(lost):.0f} "
                    f"| {max(lost)} |",
                    flush=True,
                )
    print(
        "\n¹ seconds from the end of the fault until every entry logged before it had "
        "arrived; - when some never did within the settle window"
    )


if __name__ == "__main__":
    main()
