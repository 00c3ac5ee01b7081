"""The SDK's caller path against stdlib logging, as pyperf micro-benchmarks in one run.

    .venv/bin/python bench/micro_sdk.py -o micro.json      # --fast for a short run
    .venv/bin/python -m pyperf stats micro.json

Four benchmarks, two pairs; each pair's first is the baseline measured in the same run:

* ``stdlib info`` / ``tracehub info``: ``info("user logged in", ...)`` with a module and an
  ``extra`` dict, against ``logging`` with a ``QueueHandler`` on a ``SimpleQueue``;
* ``stdlib error`` / ``tracehub error``: ``error(..., exc_info=True)`` inside ``except``.

pyperf runs each benchmark in several fresh processes, calibrates the loop count, and reports
the mean and standard deviation per call. Calls are timed in chunks of :data:`CHUNK`, the
queues emptied between chunks outside the clock, so no buffer ever fills (a full buffer
would measure the drop path instead). Delivery throughput and memory, which need a receiver
in another process and tracemalloc, stay in ``bench_sdk.py``.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable

import pyperf

from bench_sdk import EXTRA, _stdlib_logger, idle_logger
from tracehub import TraceHubLogger

#: Calls between two emptyings of the queues.
CHUNK = 1_000


@functools.cache
def _tracehub() -> TraceHubLogger:
    return idle_logger(max_buffer=CHUNK + 10)


@functools.cache
def _stdlib() -> logging.Logger:
    return _stdlib_logger()[0]


def _timed(call: Callable[[], None], reset: Callable[[], None]) -> Callable[[int], float]:
    """A pyperf time function: ``loops`` calls of ``call``, ``reset`` between chunks."""

    def time_func(loops: int) -> float:
        total = 0.0
        done = 0
        while done < loops:
            n = min(CHUNK, loops - done)
            reset()
            start = pyperf.perf_counter()
            for _ in range(n):
                call()
            total += pyperf.perf_counter() - start
            done += n
        reset()
        return total

    return time_func


def _drain_stdlib() -> None:
    handler = _stdlib().handlers[0]
    sink = handler.queue  # type: ignore[attr-defined]
    while not sink.empty():
        sink.get_nowait()


def _clear_tracehub() -> None:
    _tracehub()._buffer.queue.clear()


def stdlib_info() -> None:
    _stdlib().info("user logged in", extra={"module_name": "auth", **EXTRA})


def tracehub_info() -> None:
    _tracehub().info("user logged in", module="auth", extra=EXTRA)


def stdlib_error() -> None:
    try:
        raise ValueError("bad input")
    except ValueError:
        _stdlib().error("failed", exc_info=True)


def tracehub_error() -> None:
    try:
        raise ValueError("bad input")
    except ValueError:
        _tracehub().error("failed", exc_info=True, module="auth")


def main() -> None:
    """Register the four benchmarks; pyperf's Runner does the rest."""
    runner = pyperf.Runner()
    runner.metadata["description"] = __doc__.splitlines()[0]
    runner.bench_time_func("stdlib info", _timed(stdlib_info, _drain_stdlib))
    runner.bench_time_func("tracehub info", _timed(tracehub_info, _clear_tracehub))
    runner.bench_time_func("stdlib error", _timed(stdlib_error, _drain_stdlib))
    runner.bench_time_func("tracehub error", _timed(tracehub_error, _clear_tracehub))


if __name__ == "__main__":
    main()
