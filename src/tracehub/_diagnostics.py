"""How the SDK reports its own problems without ever looping back into itself.

Problems (a refused batch, an unwritable dead-letter directory, a corrupt file) go to
the stdlib logger named :data:`SDK_LOGGER_NAME`, at most once per :data:`REPORT_INTERVAL`
per kind of problem, with a count of what was suppressed meanwhile.

Two guards keep diagnostics from re-entering the SDK when a stdlib ``logging`` bridge
ships stdlib records to TraceHub:

* :func:`is_sdk_internal` is True on the background worker thread and inside SDK
  diagnostics, transport and shutdown code; the bridge drops records emitted there.
* A problem noticed on an application thread is queued, never logged in place: the
  worker emits it later. A logging call therefore never calls the stdlib logger.

Nothing here holds a lock while calling into ``logging``, so no handler can deadlock us.

The ``tracehub`` logger carries a :class:`logging.NullHandler`, as libraries should: an
application that configured no logging at all would otherwise get stray lines on
stderr from ``logging.lastResort`` (say, "could not reach ..." at interpreter exit after
a test server closed). Any handler the application configures — ``basicConfig()``, or
one on ``tracehub`` or the root logger — still receives every report.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = [
    "SDK_LOGGER_NAME",
    "WORKER_THREAD_NAME",
    "emit",
    "flush_pending",
    "is_sdk_internal",
    "mark_thread_internal",
    "report",
    "sdk_internal",
]

#: The stdlib logger the SDK reports its own problems to.
SDK_LOGGER_NAME = "tracehub"
#: Name of the background delivery thread.
WORKER_THREAD_NAME = "tracehub-worker"
#: Seconds between two reports of the same kind of problem.
REPORT_INTERVAL = 60.0
#: Distinct problem kinds remembered for rate limiting (a hostile server can't grow it).
_MAX_KEYS = 512
#: Reports queued by application threads before the worker emits them.
_MAX_PENDING = 256

_logger = logging.getLogger(SDK_LOGGER_NAME)
_logger.addHandler(logging.NullHandler())
_state = threading.local()
_lock = threading.Lock()
_last_report: dict[str, tuple[float, int]] = {}
_pending: deque[tuple[str, int, str]] = deque(maxlen=_MAX_PENDING)


def is_sdk_internal() -> bool:
    """True while the current thread runs SDK machinery (worker, transport, diagnostics)."""
    return getattr(_state, "depth", 0) > 0


def mark_thread_internal() -> None:
    """Mark the current thread as SDK-internal for its whole life (the worker calls this)."""
    _state.depth = getattr(_state, "depth", 0) + 1


@contextmanager
def sdk_internal() -> Iterator[None]:
    """Mark the current thread SDK-internal for the duration of the block."""
    _state.depth = getattr(_state, "depth", 0) + 1
    try:
        yield
    finally:
        _state.depth -= 1


def report(key: str, message: str, *, level: int = logging.WARNING) -> None:
    """Report an SDK problem, rate-limited per ``key``.

    Emitted at once on SDK threads; queued when called from an application thread
    (the worker emits it), so a logging call never reaches the stdlib logger.
    """
    if is_sdk_internal():
        _emit(key, level, message)
    else:
        _pending.append((key, level, message))


def emit(key: str, message: str, *, level: int = logging.WARNING) -> None:
    """Report now, without the per-key rate limit: the caller already rate-limits.

    On an application thread it is queued like :func:`report` (and then rate-limited).
    """
    if is_sdk_internal():
        with sdk_internal(), contextlib.suppress(Exception):
            _logger.log(level, "%s", message)
    else:
        _pending.append((key, level, message))


def flush_pending() -> None:
    """Emit the reports queued by application threads (called from SDK threads only)."""
    while True:
        try:
            key, level, message = _pending.popleft()
        except IndexError:
            return
        _emit(key, level, message)


def _admit(key: str) -> int | None:
    """Decide whether ``key`` may be reported now; return how many were suppressed."""
    now = time.monotonic()
    with _lock:
        last = _last_report.get(key)
        if last is not None and now - last[0] < REPORT_INTERVAL:
            _last_report[key] = (last[0], last[1] + 1)
            return None
        if last is None and len(_last_report) >= _MAX_KEYS:
            _last_report.clear()
        _last_report[key] = (now, 0)
        return last[1] if last else 0


def _emit(key: str, level: int, message: str) -> None:
    suppressed = _admit(key)
    if suppressed is None:
        return
    if suppressed:
        message = f"{message} ({suppressed} similar reports suppressed)"
    # A broken user handler must not break delivery.
    with sdk_internal(), contextlib.suppress(Exception):
        _logger.log(level, "%s", message)


def reset() -> None:
    """Forget rate-limit history and queued reports (tests; the child after a fork)."""
    global _lock
    _lock = threading.Lock()
    _last_report.clear()
    _pending.clear()


def _after_fork_in_child() -> None:
    global _lock
    # The parent may have held the lock at fork time; the child's copy could never open.
    _lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
