"""Capture crashes: uncaught exceptions on the main thread, in threads and in asyncio.

``logger.capture_unhandled()`` calls :func:`install`. It installs

* ``sys.excepthook`` - an exception that reaches the top level is logged as FATAL with
  its stack trace, then the SDK is flushed (bounded by ``flush_timeout``) before the
  interpreter prints the traceback and exits;
* ``threading.excepthook`` - a thread that dies of an exception is logged as FATAL and
  flushed the same way (the process itself keeps running, as it always does);
* an asyncio exception handler on the running loop, if there is one, and on any loop
  later passed to :meth:`UnhandledHooks.install_asyncio` - "Task exception was never
  retrieved" and friends are logged as FATAL when they carry an exception, ERROR when
  they carry only a message. It never flushes: blocking the loop would hurt more than
  the worker's normal send delay.

Each hook chains to the hook that was installed before it, so the default traceback
printing (or another tool's hook) still happens. ``KeyboardInterrupt`` and
``SystemExit`` are not crashes and are passed on unlogged, as are crashes of the SDK's
own worker thread (logging those through the worker would wait on the dead thread).

Installing twice returns the same :class:`UnhandledHooks` (pointed at the newest logger);
``uninstall()`` restores the previous hooks where ours are still the active ones.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import threading
import traceback
from collections.abc import Callable
from types import TracebackType
from typing import TYPE_CHECKING, Any

from tracehub._diagnostics import WORKER_THREAD_NAME, is_sdk_internal

if TYPE_CHECKING:
    from tracehub.client import TraceHubLogger

__all__ = ["DEFAULT_FLUSH_TIMEOUT", "UnhandledHooks", "install"]

#: Seconds a crash hook waits for the SDK to send before letting the process die.
DEFAULT_FLUSH_TIMEOUT = 2.0
_NOT_CRASHES = (KeyboardInterrupt, SystemExit)

_install_lock = threading.Lock()
_installed: UnhandledHooks | None = None

_ExceptHook = Callable[[type[BaseException], BaseException, TracebackType | None], Any]
_LoopHandler = Callable[[asyncio.AbstractEventLoop, dict[str, Any]], Any]


def install(
    logger: TraceHubLogger, *, flush_timeout: float = DEFAULT_FLUSH_TIMEOUT
) -> UnhandledHooks:
    """Install the crash hooks for ``logger`` (idempotent) and return the handle."""
    global _installed
    with _install_lock:
        if _installed is None:
            _installed = UnhandledHooks(logger, flush_timeout=flush_timeout)
            _installed._install()
        else:
            _installed.logger = logger
            _installed.flush_timeout = flush_timeout
        hooks = _installed
    # Without a running loop in this thread, install_asyncio(loop) can be called later.
    with contextlib.suppress(RuntimeError):
        hooks.install_asyncio(asyncio.get_running_loop())
    return hooks


class UnhandledHooks:
    """The installed crash hooks; call :meth:`uninstall` to remove them."""

    def __init__(self, logger: TraceHubLogger, *, flush_timeout: float) -> None:
        self.logger = logger
        self.flush_timeout = flush_timeout
        self._previous_sys: _ExceptHook | None = None
        self._previous_threading: Callable[[Any], Any] | None = None
        self._loops: dict[asyncio.AbstractEventLoop, _LoopHandler | None] = {}

    def _install(self) -> None:
        """Put our hooks in front of whatever hooks are installed now."""
        self._previous_sys = sys.excepthook
        self._previous_threading = threading.excepthook
        sys.excepthook = self._sys_hook
        threading.excepthook = self._thread_hook

    def install_asyncio(self, loop: asyncio.AbstractEventLoop) -> None:
        """Log exceptions that reach ``loop``'s exception handler (chained, idempotent)."""
        if loop in self._loops:
            return
        self._loops[loop] = loop.get_exception_handler()
        loop.set_exception_handler(self._loop_handler)

    def uninstall(self) -> None:
        """Restore the hooks that were installed before ours, where ours are still active."""
        global _installed
        with _install_lock:
            if sys.excepthook == self._sys_hook and self._previous_sys is not None:
                sys.excepthook = self._previous_sys
            if threading.excepthook == self._thread_hook and self._previous_threading is not None:
                threading.excepthook = self._previous_threading
            for loop, previous in self._loops.items():
                if loop.get_exception_handler() == self._loop_handler:
                    loop.set_exception_handler(previous)
            self._loops.clear()
            if _installed is self:
                _installed = None

    def _sys_hook(
        self, exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None
    ) -> None:
        """``sys.excepthook``: log, flush, then run the previous hook."""
        try:
            if not issubclass(exc_type, _NOT_CRASHES):
                self._report(exc, tb, "Uncaught exception", "__main__", flush=True)
        finally:
            previous = self._previous_sys or sys.__excepthook__
            previous(exc_type, exc, tb)

    def _thread_hook(self, args: Any) -> None:
        """``threading.excepthook``: log and flush unless the dead thread is the SDK's own."""
        try:
            exc_type = args.exc_type
            sdk_thread = is_sdk_internal() or (
                args.thread is not None and args.thread.name == WORKER_THREAD_NAME
            )
            crash = args.exc_value is not None and not issubclass(exc_type, _NOT_CRASHES)
            if crash and not sdk_thread:
                name = args.thread.name if args.thread is not None else "unknown"
                self._report(
                    args.exc_value,
                    args.exc_traceback,
                    f"Uncaught exception in thread {name!r}",
                    "threading",
                    flush=True,
                )
        finally:
            previous = self._previous_threading or threading.__excepthook__
            previous(args)

    def _loop_handler(self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        """Asyncio exception handler: log without flushing, then chain."""
        # The loop's own handler below must run whatever happens here.
        with contextlib.suppress(Exception):
            exc = context.get("exception")
            message = str(context.get("message") or "Unhandled exception in event loop")
            if isinstance(exc, BaseException):
                if not isinstance(exc, _NOT_CRASHES):
                    self._report(exc, exc.__traceback__, message, "asyncio", flush=False)
            else:
                self.logger.error(message, module="asyncio")
        previous = self._loops.get(loop)
        if previous is not None:
            previous(loop, context)
        else:
            loop.default_exception_handler(context)

    def _report(
        self,
        exc: BaseException,
        tb: TracebackType | None,
        what: str,
        module: str,
        *,
        flush: bool,
    ) -> None:
        """Log ``exc`` as FATAL with its stack trace; optionally wait for it to be sent."""
        # A crash hook must never raise over the real crash it is reporting.
        with contextlib.suppress(Exception):
            self.logger.fatal(
                f"{what}: {type(exc).__name__}: {_safe_str(exc)}",
                exception=exc,
                stack_trace="".join(traceback.format_exception(type(exc), exc, tb)),
                module=module,
            )
            if flush:
                self.logger.flush(timeout=self.flush_timeout)


def _safe_str(exc: BaseException) -> str:
    """``str(exc)``, surviving exceptions whose ``__str__`` itself raises."""
    try:
        return str(exc)
    except Exception:
        return f"<unprintable {type(exc).__name__}>"
