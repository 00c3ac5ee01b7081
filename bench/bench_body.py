"""Cost of the body bounds on the ingest hot path: ``read_body`` with and without them.

Usage: ``python bench/bench_body.py [--requests 20000] [--runs 5]``

Reads an SDK-like gzip body of 50 entries, delivered as one ASGI message (what uvicorn hands
over for a small request), through ``read_body`` -- once as before the bounds existed
(baseline: no deadline, no gate) and once as ingest now calls it (a deadline with minimum
rate, a :class:`BodyGate` admission charged per chunk and released). Both in the same
process and run, interleaved; prints the median microseconds per body of each and their
difference.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import statistics
import time
from collections.abc import AsyncIterator
from datetime import datetime, timezone

import orjson

from tracehub_server.api.body import BodyGate, read_body


def _body() -> bytes:
    now = datetime.now(timezone.utc).isoformat()
    entries = [
        {"level": "INFO", "message": f"request {i} served", "timestamp": now, "service": "api",
         "extra": {"path": "/cart", "status": 200, "user": f"u{i}"}}
        for i in range(50)
    ]  # fmt: skip
    return gzip.compress(orjson.dumps(entries))


async def _one(data: bytes) -> AsyncIterator[bytes]:
    yield data


async def _time(data: bytes, n: int, gate: BodyGate | None) -> float:
    started = time.perf_counter()
    for _ in range(n):
        if gate is None:
            await read_body(_one(data), gzip=True)
        else:
            admission = gate.admit()
            try:
                await read_body(_one(data), gzip=True, admission=admission)
            finally:
                admission.release()
    return (time.perf_counter() - started) / n * 1e6


async def main(requests: int, runs: int) -> None:
    data, gate = _body(), BodyGate()
    before, after = [], []
    for _ in range(runs):
        before.append(await _time(data, requests, None))
        after.append(await _time(data, requests, gate))
    b, a = statistics.median(before), statistics.median(after)
    print(f"body: {len(data)} bytes gzip, {requests} reads x {runs} runs (median)")
    print(f"baseline (no bounds)  {b:8.2f} us/body")
    print(f"with bounds           {a:8.2f} us/body   (+{a - b:.2f} us, {100 * (a - b) / b:+.1f} %)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    asyncio.run(main(args.requests, args.runs))
