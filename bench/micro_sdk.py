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
import queue
from collections.abc import Iterator

import pyperf

from bench_sdk import EXTRA, _stdlib_logger, idle_logger
from tracehub import TraceHubLogger

#: Calls between two emptyings of the queues.
CHUNK = 1_000


@functools.cache
def _tracehub() -> TraceHubLogger:
    return idle_logger(max_buffer=CHUNK + 10)


@functools.cache
def _stdlib() -> tuple[logging.Logger, queue.SimpleQueue[logging.LogRecord]]:
    return _stdlib_logger()


def _chunks(loops: int) -> Iterator[int]:
    """``loops`` split into chunks of at most :data:`CHUNK` calls."""
    while loops > 0:
        yield min(CHUNK, loops)
        loops -= CHUNK


def _drain(sink: queue.SimpleQueue[logging.LogRecord]) -> None:
    while not sink.empty():
        sink.get_nowait()


# Each time function inlines its call in the loop, as the application would make it: no
# wrapper frame is timed on either side.


def time_stdlib_info(loops: int) -> float:
    log, sink = _stdlib()
    info, total = log.info, 0.0
    for n in _chunks(loops):
        _drain(sink)
        start = pyperf.perf_counter()
        for _ in range(n):
            info("user logged in", extra={"module_name": "auth", **EXTRA})
        total += pyperf.perf_counter() - start
    _drain(sink)
    return total


def time_tracehub_info(loops: int) -> float:
    logger = _tracehub()
    info, buffered, total = logger.info, logger._buffer.queue, 0.0
    for n in _chunks(loops):
        buffered.clear()
        start = pyperf.perf_counter()
        for _ in range(n):
            info("user logged in", module="auth", extra=EXTRA)
        total += pyperf.perf_counter() - start
    buffered.clear()
    return total


def time_stdlib_error(loops: int) -> float:
    log, sink = _stdlib()
    error, total = log.error, 0.0
    for n in _chunks(loops):
        _drain(sink)
        start = pyperf.perf_counter()
        for _ in range(n):
            try:
                raise ValueError("bad input")
            except ValueError:
                error("failed", exc_info=True)
        total += pyperf.perf_counter() - start
    _drain(sink)
    return total


def time_tracehub_error(loops: int) -> float:
    logger = _tracehub()
    error, buffered, total = logger.error, logger._buffer.queue, 0.0
    for n in _chunks(loops):
        buffered.clear()
        start = pyperf.perf_counter()
        for _ in range(n):
            try:
                raise ValueError("bad input")
            except ValueError:
                error("failed", exc_info=True, module="auth")
        total += pyperf.perf_counter() - start
    buffered.clear()
    return total


def main() -> None:
    """Register the four benchmarks; pyperf's Runner does the rest."""
    runner = pyperf.Runner()
    runner.metadata["description"] = __doc__.splitlines()[0]
    runner.bench_time_func("stdlib info", time_stdlib_info)
    runner.bench_time_func("tracehub info", time_tracehub_info)
    runner.bench_time_func("stdlib error", time_stdlib_error)
    runner.bench_time_func("tracehub error", time_tracehub_error)


if __name__ == "__main__":
    main()
