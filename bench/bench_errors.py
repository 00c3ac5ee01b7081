"""Benchmark: ``error(exc_info=True)`` with structured exceptions vs the code before them.

The baseline is the SDK as of commit 0ef8106 (``git archive 0ef8106 src``), measured in the
same run: each side runs in its own child process (two versions of ``tracehub`` cannot share
one interpreter), alternating old/new, and the medians of all rounds are compared.

    .venv/bin/python bench/bench_errors.py [--quick]

Measured, per call, on the caller's thread: ``logger.error("failed", exc_info=True)`` inside
``except`` for an exception raised 20 frames deep through 20 distinct functions of an
application module (every frame in-app, so every frame gets source context). Also shown:
the worker's cost to encode one such entry (not the caller's, for information), and the
ingest API's cost to validate (the fast path) and encode ``bench_server.py``'s bodies, which
carry no structured exception, before and after the wire gained ``exception``/``fingerprint``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BASELINE_COMMIT = "0ef8106"
DEPTH = 20

APP = "\n".join(
    [f"def f{i}():\n    return f{i + 1}()\n" for i in range(DEPTH - 1)]
    + [f"def f{DEPTH - 1}():\n    raise ValueError('order 42 not found')\n"]
)

CHILD = textwrap.dedent(
    """
    import gc, json, statistics, sys, time
    import app
    from tracehub import TraceHubLogger
    from tracehub.models import SendResult
    from tracehub.transport import Transport

    class Discard(Transport):
        def send(self, batch, *, deadline=None):
            return SendResult(delivered=len(batch))

    calls, rounds = int(sys.argv[1]), int(sys.argv[2])
    th = TraceHubLogger(api_key="bench", service="bench", environment="bench",
                        batch_size=1000, flush_interval=3600.0, max_buffer=calls + 10,
                        dlq_path=None, transport=Discard())
    th.info("warm-up")
    th._threshold = 1 << 62

    def call():
        try:
            app.f0()
        except ValueError:
            th.error("failed", exc_info=True, module="orders")

    results = []
    for r in range(rounds + 1):
        th._buffer.queue.clear()
        gc.disable()
        start = time.perf_counter()
        for _ in range(calls):
            call()
        elapsed = (time.perf_counter() - start) / calls * 1e6
        gc.enable()
        if r:
            results.append(elapsed)
    records = list(th._buffer.queue)[:200]
    encoder = th._worker.encoder
    start = time.perf_counter()
    for _ in range(5):
        data = encoder.encode(records)
    encode = (time.perf_counter() - start) / (5 * len(records)) * 1e6
    th._buffer.queue.clear()
    th.close(timeout=0)
    print(json.dumps({"call": results, "encode": encode, "bytes": len(data[0])}))
    """
)


VALIDATE = textwrap.dedent(
    """
    import gzip, json, sys, time
    from datetime import datetime, timezone
    import orjson
    from bench_server import _entry
    from tracehub_server.api.ingest import validate_body
    from tracehub_server.api.validation import EntryValidator
    from tracehub_server.queue.messages import encode_entries

    requests, rounds = int(sys.argv[1]), int(sys.argv[2])
    bodies = [gzip.compress(orjson.dumps([_entry(i) for i in range(s, s + 50)]))
              for s in range(0, requests * 50, 50)]
    validator = EntryValidator(retention_days=30)
    results = []
    for r in range(rounds + 1):
        start = time.thread_time()
        for body in bodies:
            now = datetime.now(timezone.utc)
            accepted, _ = validate_body(validator, gzip.decompress(body), now)
            encode_entries(accepted)
        if r:
            results.append((time.thread_time() - start) / len(bodies) * 1e6)
    print(json.dumps({"call": results}))
    """
)


def _baseline_src(into: Path) -> Path:
    archive = subprocess.run(
        ["git", "-C", str(REPO), "archive", BASELINE_COMMIT, "src"],
        check=True,
        capture_output=True,
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into / "src"


def _run(
    src: Path, app_dir: Path, calls: int, rounds: int, child: str = CHILD
) -> dict[str, object]:
    env = {**os.environ, "PYTHONPATH": f"{src}{os.pathsep}{app_dir}"}
    out = subprocess.run(
        [sys.executable, "-c", child, str(calls), str(rounds)],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    import json

    result: dict[str, object] = json.loads(out.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    calls, rounds, pairs = (500, 3, 2) if args.quick else (2000, 5, 4)
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        (tmp_path / "app").mkdir()
        (tmp_path / "app" / "app.py").write_text(APP)
        old_src = _baseline_src(tmp_path)
        new_src = REPO / "src"
        old: list[float] = []
        new: list[float] = []
        encodes: dict[str, list[float]] = {"old": [], "new": []}
        sizes = {}
        for i in range(pairs):
            order = [("old", old_src, old), ("new", new_src, new)]
            for name, src, sink in order[:: -1 if i % 2 else 1]:
                result = _run(src, tmp_path / "app", calls, rounds)
                sink.extend(result["call"])  # type: ignore[arg-type]
                encodes[name].append(result["encode"])  # type: ignore[arg-type]
                sizes[name] = result["bytes"]
        bench_dir = Path(__file__).resolve().parent
        validated: dict[str, list[float]] = {"old": [], "new": []}
        for i in range(pairs):
            order = [("old", old_src), ("new", new_src)]
            for name, src in order[:: -1 if i % 2 else 1]:
                result = _run(src, bench_dir, calls // 10, rounds, VALIDATE)
                validated[name].extend(result["call"])  # type: ignore[arg-type]
    base, ours = statistics.median(old), statistics.median(new)
    print(f"error(exc_info=True), {DEPTH} in-app frames, per call on the caller's thread")
    print(f"  baseline ({BASELINE_COMMIT}, text only)  {base:8.1f} us")
    print(f"  structured + text                {ours:8.1f} us   ratio {ours / base:.2f}x")
    eb, en = statistics.median(encodes["old"]), statistics.median(encodes["new"])
    print("worker-side encode per entry (information, not the caller's cost)")
    print(f"  baseline {eb:8.1f} us ({sizes['old']} bytes)   structured {en:8.1f} us "
          f"({sizes['new']} bytes)")  # fmt: skip
    vb, vn = statistics.median(validated["old"]), statistics.median(validated["new"])
    print("ingest: gunzip + validate + encode per 50-entry bench_server.py body (CPU time)")
    print(f"  baseline {vb:8.1f} us   now {vn:8.1f} us   ratio {vn / vb:.2f}x")


if __name__ == "__main__":
    main()
