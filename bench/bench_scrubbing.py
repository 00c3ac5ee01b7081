"""Benchmark: the API's CPU per ingest request with PII scrubbing on, against off, same run.

    .venv/bin/python bench/bench_scrubbing.py [--requests 2000] [--rounds 7]

The request bodies are ``bench_server.py``'s (SDK-like gzip batches of 50 entries, 10 %
ERROR with tracebacks, ``extra`` with a few keys). For every body it times what the ingest
request does with it on the CPU -- gunzip, parse and validate (``api.ingest.validate_body``),
encode the queue message (``encode_entries``) -- once without and once with
:class:`~tracehub_server.api.scrubbing.Scrubber` (the default rules) in between, alternating
every 20 bodies which goes first, in CPU time of the benchmark's thread. The slowdown of
that path bounds the drop in ingest throughput from above (the rest of a request -- HTTP,
auth, the broker -- and the worker's and PostgreSQL's share only dilute it). Also timed:
bodies whose every entry carries a structured exception, where scrubbing looks at frames.
"""

from __future__ import annotations

import argparse
import gzip
import statistics
import time
from datetime import datetime, timezone
from typing import Any

import orjson

from bench_server import _entry
from tracehub.stacktrace import StackCapture
from tracehub_server.api.ingest import validate_body
from tracehub_server.api.scrubbing import Scrubber
from tracehub_server.api.validation import EntryValidator
from tracehub_server.queue.messages import encode_entries
from tracehub_server.storage.scrubbing import ScrubSettings

BATCH = 50


def _structured() -> dict[str, Any]:
    def inner(order: int) -> None:
        raise KeyError(f"order {order}")

    try:
        try:
            inner(42)
        except KeyError as exc:
            raise RuntimeError("checkout failed") from exc
    except RuntimeError as exc:
        values, _ = StackCapture(None).capture(exc)
    return {"values": values}


def _bodies(requests: int, *, structured: bool) -> list[bytes]:
    bodies = []
    exception = _structured()
    for start in range(0, requests * BATCH, BATCH):
        entries = [_entry(i) for i in range(start, start + BATCH)]
        if structured:
            for entry in entries:
                entry.update(level="ERROR", exception=exception)
        bodies.append(gzip.compress(orjson.dumps(entries), 6))
    return bodies


def _time(bodies: list[bytes], scrubber: Scrubber | None) -> float:
    """CPU seconds of this thread for ``bodies`` (a shared machine's other load left out)."""
    validator = EntryValidator(retention_days=30)
    start = time.thread_time()
    for body in bodies:
        accepted, _ = validate_body(validator, gzip.decompress(body), datetime.now(timezone.utc))
        if scrubber is not None:
            scrubber.scrub(accepted)
        encode_entries(accepted)
    return time.thread_time() - start


def _compare(bodies: list[bytes], rounds: int, chunk: int = 20) -> tuple[float, float]:
    """Median per-request microseconds off and on; the two alternate every ``chunk`` bodies
    (ABBA), so a burst of load from elsewhere lands on both."""
    scrubber = Scrubber(ScrubSettings())
    _time(bodies[:chunk], None)
    _time(bodies[:chunk], scrubber)
    off: list[float] = []
    on: list[float] = []
    for index in range(rounds):
        spent = {"off": 0.0, "on": 0.0}
        for n, start in enumerate(range(0, len(bodies), chunk)):
            part = bodies[start : start + chunk]
            order = [("off", None), ("on", scrubber)]
            for name, rules in order[:: -1 if (n + index) % 2 else 1]:
                spent[name] += _time(part, rules)
        off.append(spent["off"] / len(bodies) * 1e6)
        on.append(spent["on"] / len(bodies) * 1e6)
    return statistics.median(off), statistics.median(on)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    print(f"per request of {BATCH} entries: gunzip + validate + encode, scrubbing off vs on")
    for label, structured in (("bench_server.py bodies", False), ("all structured", True)):
        off, on = _compare(_bodies(args.requests, structured=structured), args.rounds)
        print(f"  {label:24s} off {off:8.1f} us   on {on:8.1f} us   +{(on / off - 1) * 100:.1f} %")


if __name__ == "__main__":
    main()
