"""Parsing and validating large ingest bodies in a child process, off the event loop.

orjson and msgspec hold the GIL for a whole decode: a 20 MiB body whose ``extra`` has a
million keys takes ~0.5 s, and a worker *thread* would still stop the event loop for all of
it. Bodies of at least ``threshold`` bytes are therefore parsed and validated in a small
process pool (``spawn``ed, so no locks of this process are inherited); smaller ones, the
common case, stay inline where they cost less than the trip to another process. What comes
back is bounded: each stored ``extra`` is at most ``MAX_EXTRA_BYTES`` (larger ones become a
three-key summary in the child), so no single value of a million keys is ever rebuilt here.

The pool is per process and shared by every app in it, joined at interpreter exit. The app
starts it when it starts (:meth:`BodyParser.start`): spawning a child and importing the
server into it costs ~1 s of CPU, which at the first large body of a burst held ``/healthz``
for up to ~180 ms on a 2-core host. A child that dies (killed, out of memory) breaks the
pool: the request answers 503 with ``Retry-After`` and the next large body starts a fresh
pool.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import TYPE_CHECKING, Any, TypeVar

from tracehub_server.api.body import BUSY_RETRY_AFTER, BodyError

if TYPE_CHECKING:
    from tracehub_server.settings import Settings

T = TypeVar("T")

#: Bodies (decompressed) at least this large are parsed in the pool by default.
OFFLOAD_BYTES = 256 * 1024

#: ``nice`` increment of the parser processes: on a busy host the scheduler runs the event
#: loop (health checks, small batches, queries) before another slice of a huge parse.
PARSER_NICENESS = 19

#: Seconds between a parser child's checks that the server that started it still runs.
PARENT_CHECK_SECONDS = 1.0

_executor: ProcessPoolExecutor | None = None


def _start_child(parent: int) -> None:
    """A parser child's set-up: a low priority, and an exit of its own once ``parent`` is
    gone -- a server killed outright (SIGKILL, out of memory) never shuts its pool down, and
    its idle children would otherwise wait for work forever."""
    with contextlib.suppress(OSError, AttributeError):  # AttributeError: no os.nice (Windows)
        os.nice(PARSER_NICENESS)
    threading.Thread(
        target=_exit_without, args=(parent,), name="tracehub-parent-watch", daemon=True
    ).start()


def _exit_without(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(PARENT_CHECK_SECONDS)
    os._exit(0)


def _pool(processes: int) -> ProcessPoolExecutor:
    global _executor
    if _executor is None:
        _executor = ProcessPoolExecutor(
            max_workers=processes,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_start_child,
            initargs=(os.getpid(),),
        )
    return _executor


def _ready() -> None:
    """Nothing: submitted at start-up so that the children spawn and import before any body."""


def _discard_broken(broken: ProcessPoolExecutor) -> None:
    global _executor
    if _executor is broken:
        _executor = None
        broken.shutdown(wait=False, cancel_futures=True)


class BodyParser:
    """Runs a parse function inline for small bodies and in the process pool for large ones."""

    def __init__(self, *, processes: int = 1, threshold: int = OFFLOAD_BYTES) -> None:
        #: 0 processes: always inline (the loop stalls on huge bodies; for tests and tiny hosts).
        self.processes = processes
        self.threshold = threshold

    @classmethod
    def from_settings(cls, settings: Settings) -> BodyParser:
        return cls(processes=settings.parse_processes, threshold=settings.parse_offload_bytes)

    def start(self) -> None:
        """Spawn the parser processes now, in the background, rather than at the first large
        body (a no-op with 0 processes). Returns at once."""
        if self.processes:
            executor = _pool(self.processes)
            for _ in range(self.processes):
                executor.submit(_ready)

    async def run(self, size: int, fn: Callable[..., T], *args: Any) -> T:
        """``fn(*args)``: here when ``size`` is small, else in a child process."""
        if not self.processes or size < self.threshold:
            return fn(*args)
        executor = _pool(self.processes)
        try:
            return await asyncio.get_running_loop().run_in_executor(executor, fn, *args)
        except BrokenProcessPool:
            _discard_broken(executor)
            raise BodyError(
                503, "the body parser restarted; retry", retry_after=BUSY_RETRY_AFTER
            ) from None
