"""The generated ``info`` against a written-out one from a git revision, interleaved in one process.

    .venv/bin/python bench/ab_level_methods.py 3fa841f     # the revision with three copies

Both methods run on the same idle logger (bench_sdk.idle_logger): the revision's ``info`` is
read from ``git show REV:src/tracehub/client.py`` and compiled in today's ``tracehub.client``
namespace, so only the method body differs. Rounds alternate which side goes first; each
side times :data:`CHUNK` calls per round, the buffer emptied outside the clock. Prints the
median ns per call of each side and the ratio, which is what issue 12's 2 % bound is about.
pyperf's process-level noise on a shared machine (± 30 % in micro_sdk.py) is larger than
the difference, hence one process and many short alternating rounds.
"""

from __future__ import annotations

import argparse
import ast
import statistics
import subprocess
from collections.abc import Callable
from time import perf_counter

import tracehub.client
from bench_sdk import EXTRA, idle_logger

#: Calls per side per round.
CHUNK = 1_000


def _written_out_info(rev: str) -> Callable[..., None]:
    """``TraceHubLogger.info`` as written in ``rev``, compiled against today's module."""
    source = subprocess.run(
        ["git", "show", f"{rev}:src/tracehub/client.py"], check=True, capture_output=True, text=True
    ).stdout
    cls = next(n for n in ast.parse(source).body if isinstance(n, ast.ClassDef))
    func = next(n for n in cls.body if isinstance(n, ast.FunctionDef) and n.name == "info")
    namespace = dict(vars(tracehub.client))
    exec(compile(ast.Module(body=[func], type_ignores=[]), "<baseline>", "exec"), namespace)  # noqa: S102 - our own source at a git revision
    info: Callable[..., None] = namespace["info"]
    return info


def _time(call: Callable[..., None], logger: tracehub.TraceHubLogger) -> float:
    buffered = logger._buffer.queue
    buffered.clear()
    start = perf_counter()
    for _ in range(CHUNK):
        call("user logged in", module="auth", extra=EXTRA)
    elapsed = perf_counter() - start
    buffered.clear()
    return elapsed / CHUNK * 1e9


def main() -> None:
    """Alternate the two sides for ``--rounds`` rounds; print medians and the ratio."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("rev", help="git revision whose written-out info() is the baseline")
    parser.add_argument("--rounds", type=int, default=400)
    args = parser.parse_args()
    logger = idle_logger(max_buffer=CHUNK + 10)
    old = _written_out_info(args.rev).__get__(logger)
    new = logger.info
    sides: dict[str, list[float]] = {"written-out": [], "generated": []}
    for r in range(args.rounds):
        order = [("written-out", old), ("generated", new)]
        for name, call in order if r % 2 else reversed(order):
            sides[name].append(_time(call, logger))
    base, gen = (statistics.median(sides[k]) for k in ("written-out", "generated"))
    print(f"written-out ({args.rev}) info: {base:7.1f} ns/call (median of {args.rounds})")
    print(f"generated info:            {gen:7.1f} ns/call")
    print(f"generated / written-out:   {gen / base * 100:7.1f} %")


if __name__ == "__main__":
    main()
