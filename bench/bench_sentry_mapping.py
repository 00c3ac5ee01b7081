"""CPU per entry of the Sentry envelope path in process: mapping, then native validation.

Usage: ``python bench/bench_sentry_mapping.py [--before /work/main/src] [--entries 20000]
[--rounds 7] [--batch 50]``

The bodies are ``bench_protocols.py``'s Sentry envelopes (10 % error events with a
traceback, the rest one ``log`` item per body), uncompressed. Each round runs, in a child
process per source tree, ``routes._envelope_items`` over every body and then
``intake.validate_entries`` over the mapped entries, and reports both in microseconds of
CPU per entry. The trees alternate (before, after, before, ...) so a shared machine's noise
falls on both; medians and the ratio after/before are printed last.

``--heap N`` holds N long-lived objects first, as a server's heap (modules, caches): the
garbage collector's full passes walk them, so an allocation-heavy path costs more there.

``--profile`` instead prints a cProfile of one pass over the bodies with this tree's code.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
TREE = HERE.parent / "src"


def _bodies(entries: int, batch: int) -> list[bytes]:
    from bench_protocols import _entry, _sentry

    random.seed(13)
    made = [_entry(i) for i in range(entries)]
    return [_sentry(made[start : start + batch]) for start in range(0, entries, batch)]


def _child(entries: int, batch: int, heap: int) -> None:
    """One round with the code on ``sys.path``: prints mapping and validation us/entry."""
    # A server's long-lived objects, which every full garbage collection walks.
    kept = [{"n": [index]} for index in range(heap)]
    from tracehub_server.api.intake import validate_entries
    from tracehub_server.api.sentry.routes import _envelope_items
    from tracehub_server.api.validation import EntryValidator

    bodies = _bodies(entries, batch)
    validator = EntryValidator(retention_days=30)
    now = datetime.now(timezone.utc)
    for body in bodies[:20]:  # warm the caches both trees have
        validate_entries(validator, _envelope_items(body, 1)[0], now)
    mapping = validation = 0.0
    clock = time.process_time
    for body in bodies:  # one body at a time, as the server does (no heap of entries)
        started = clock()
        items = _envelope_items(body, 1)[0]
        middle = clock()
        accepted, rejected = validate_entries(validator, items, now)
        ended = clock()
        mapping += middle - started
        validation += ended - middle
        if rejected or len(accepted) != len(items):
            raise RuntimeError(f"entries rejected: {rejected[:1]}")
    print(f"{mapping / entries * 1e6} {validation / entries * 1e6}")
    del kept


def _run(tree: str, args: argparse.Namespace) -> tuple[float, float]:
    env = {**os.environ, "PYTHONPATH": f"{tree}{os.pathsep}{HERE}"}
    command = [sys.executable, __file__, "--child", "--entries", str(args.entries),
               "--batch", str(args.batch), "--heap", str(args.heap)]  # fmt: skip
    out = subprocess.run(command, env=env, check=True, capture_output=True, text=True).stdout
    mapping, validation = map(float, out.split())
    return mapping, validation


def _compare(args: argparse.Namespace) -> None:
    trees = {"before": args.before, "after": str(TREE)}
    results: dict[str, list[tuple[float, float]]] = {name: [] for name in trees}
    for index in range(args.rounds):
        for name, tree in trees.items():
            results[name].append(_run(tree, args))
        print(f"round {index + 1}: " + "  ".join(
            f"{name} {m:.2f}+{v:.2f} us" for name, ((m, v),) in
            ((n, r[-1:]) for n, r in results.items())), flush=True)  # fmt: skip
    print(f"\nmedian of {args.rounds} rounds, CPU us per entry ({args.batch} per envelope):")
    print(f"{'':8s} {'mapping':>8s} {'validate':>9s} {'total':>7s}")
    medians = {}
    for name, rows in results.items():
        mapping = statistics.median(r[0] for r in rows)
        validation = statistics.median(r[1] for r in rows)
        total = statistics.median(r[0] + r[1] for r in rows)
        medians[name] = (mapping, validation, total)
        print(f"{name:8s} {mapping:8.2f} {validation:9.2f} {total:7.2f}")
    ratios = [a / b for a, b in zip(medians["after"], medians["before"], strict=True)]
    print(f"{'after/before':8s} " + " ".join(f"{r:8.0%}" for r in ratios))


def _profile(args: argparse.Namespace) -> None:
    import cProfile
    import pstats

    sys.path[:0] = [str(TREE), str(HERE)]
    from tracehub_server.api.intake import validate_entries
    from tracehub_server.api.sentry.routes import _envelope_items
    from tracehub_server.api.validation import EntryValidator

    bodies = _bodies(args.entries, args.batch)
    validator = EntryValidator(retention_days=30)
    now = datetime.now(timezone.utc)
    with cProfile.Profile() as profile:
        for body in bodies:
            validate_entries(validator, _envelope_items(body, 1)[0], now)
    pstats.Stats(profile).sort_stats("tottime").print_stats(25)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", default="/work/main/src", help="the baseline's src/")
    parser.add_argument("--entries", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--batch", type=int, default=50)
    parser.add_argument(
        "--heap",
        type=int,
        default=0,
        help="long-lived objects to hold, as a server does (GC walks them)",
    )
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(args.entries, args.batch, args.heap)
    elif args.profile:
        _profile(args)
    else:
        _compare(args)


if __name__ == "__main__":
    main()
