"""What validating a request costs the API, by client: our SDK's body against the originals'.

Prints, per body shape, the median time of the ingest view's validation step
(``tracehub_server.api.ingest.validate_body``: decode, check, derive missing event ids) per
entry, next to the baseline measured in the same run: a body as our SDK writes it. Nothing
here asserts on time.

    .venv/bin/python bench/bench_ingest_shapes.py [--rounds 15] [--batch 50]

Shapes: our SDK (event ids, thread name; the canonical path); ``tracehub-logger`` 1.2.0 (no
event id, ``json.dumps`` spacing and ``\\u`` escapes), once as built with one entry in five
holding ``NaN`` in ``extra`` (which sends the whole body through Python's ``json``) and once
without; the Java SDK (compact, empty strings and ``extra``); the C++ SDK (sorted keys). The
original shapes come from ``tests/original_sdks.py``, the builders the compatibility tests use.
"""

from __future__ import annotations

import argparse
import secrets
import statistics
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from original_sdks import SDKS, original_timestamp
from tracehub_server.api.event_ids import RequestEventIds
from tracehub_server.api.ingest import validate_body
from tracehub_server.api.validation import EntryValidator


def _ours(timestamp: str, count: int) -> bytes:
    entries = []
    for i in range(count):
        entry = {
            "level": "INFO", "message": f"user {i} logged in", "timestamp": timestamp,
            "service": "orders", "environment": "production", "host": "web-1", "pid": 4242,
            "sdk_version": "0.1.0", "thread_id": "MainThread", "event_id": secrets.token_hex(16),
            "module": "auth", "extra": {"user_id": i, "ip": "10.0.0.1"},
        }  # fmt: skip
        entries.append(entry)
    return orjson.dumps(entries)


def _original(sdk: str, timestamp: str, count: int, *, nan: bool = True) -> bytes:
    make_entries, write, _gzip, _headers = SDKS[sdk]
    pattern = make_entries(timestamp)
    if not nan:  # the Python pattern's first entry has NaN in extra (a whole-body detour)
        pattern = [{k: v for k, v in e.items() if k != "extra"} for e in pattern]
    entries = [dict(pattern[i % len(pattern)], message=f"entry {i}") for i in range(count)]
    return write(entries)


def _us_per_entry(validator: EntryValidator, body: bytes, count: int) -> float:
    now = datetime.now(timezone.utc)
    started = time.perf_counter()
    for _ in range(20):
        accepted, rejected = validate_body(validator, body, now, RequestEventIds(1, body))
    elapsed = (time.perf_counter() - started) / 20 / count * 1e6
    assert not rejected, rejected[:1]
    assert len(accepted) == count
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--batch", type=int, default=50, help="entries per request")
    args = parser.parse_args()
    stamp = original_timestamp()
    bodies = {"our SDK (baseline)": _ours(stamp, args.batch)}
    bodies |= {f"original {sdk}": _original(sdk, stamp, args.batch) for sdk in SDKS}
    bodies["original python, no NaN"] = _original("python", stamp, args.batch, nan=False)
    validator = EntryValidator(retention_days=30)
    times: dict[str, list[float]] = {name: [] for name in bodies}
    for _ in range(args.rounds):  # interleaved: a noisy moment costs every shape alike
        for name, body in bodies.items():
            times[name].append(_us_per_entry(validator, body, args.batch))
    print(
        f"validation per entry, median of {args.rounds} interleaved rounds,"
        f" {args.batch}-entry bodies"
    )
    baseline = statistics.median(times["our SDK (baseline)"])
    for name, values in times.items():
        cost = statistics.median(values)
        print(f"  {name:<24}: {cost:6.2f} µs   ({cost / baseline:4.2f}x baseline)")


if __name__ == "__main__":
    main()
