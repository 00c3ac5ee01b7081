"""The stdlib ``logging`` bridge: ship existing ``logging`` calls to TraceHub.

    import logging
    from tracehub.integrations.logging import TraceHubHandler
    logging.getLogger().addHandler(TraceHubHandler(logger))

Each record becomes one TraceHub entry: the level is mapped (WARNING -> WARN,
CRITICAL -> FATAL, custom levels to the nearest standard level below them), ``module``
is the logger's name, the message is ``record.getMessage()`` (``%``-arguments applied),
``exc_info`` becomes the error fields and the record's custom attributes (``extra=`` on
the stdlib call) become ``extra``.

Two guarantees keep the bridge safe to attach to the root logger:

* **No loops.** Records from the SDK's own ``tracehub`` logger, from the HTTP client's
  loggers (``httpx``, ``httpcore``, ``h11``, ``h2``, ``hpack``) and anything logged while
  the SDK is doing its own work (``is_sdk_internal()``, e.g. on the ``tracehub-worker``
  thread) are dropped, as is a record emitted by ``emit`` itself.
* **No deadlock.** ``logging.shutdown()`` and ``dictConfig`` call ``flush``/``close``
  (``dictConfig`` while holding logging's module lock). ``flush`` waits at most
  ``flush_timeout`` seconds for the SDK, and not at all while this thread holds the
  module lock; ``close`` does not close the SDK logger (it is shared, not owned by the
  handler: reconfiguring logging must not stop TraceHub). ``emit`` takes no lock.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from typing import TYPE_CHECKING, Any

from tracehub._diagnostics import is_sdk_internal
from tracehub.entry import normalize_level

if TYPE_CHECKING:
    from tracehub.client import TraceHubLogger

__all__ = ["TraceHubHandler", "tracehub_level"]

#: Logger-name roots never shipped: the SDK itself and the HTTP stack it sends with.
IGNORED_LOGGER_ROOTS = frozenset({"tracehub", "httpx", "httpcore", "h11", "h2", "hpack"})
#: Seconds ``flush`` waits for the SDK; bounded because logging may hold its module lock.
DEFAULT_FLUSH_TIMEOUT = 2.0

# Attributes every LogRecord has; anything else on a record came from ``extra=``.
_STANDARD_ATTRS = frozenset(
    {
        *vars(logging.LogRecord("", logging.INFO, "", 0, "", None, None)),
        "message",
        "asctime",
        "taskName",
    }
)
# Set while any bridge emits on this thread: a record logged from inside emit (say, by
# an argument's __str__) is dropped instead of re-entering the SDK through any bridge.
_emitting = threading.local()
_LEVELS = {
    number: normalize_level(number)
    for number in (logging.DEBUG, logging.INFO, logging.WARNING, logging.ERROR, logging.CRITICAL)
}


def tracehub_level(levelno: int) -> str:
    """Map a stdlib level number to a TraceHub level (custom levels round down)."""
    return normalize_level(levelno)


class TraceHubHandler(logging.Handler):
    """A ``logging.Handler`` that forwards records to a :class:`tracehub.TraceHubLogger`.

    ``logger`` may be omitted to use the process default (``tracehub.set_default_logger``),
    looked up per record, which also suits ``dictConfig`` (``"()"`` or ``"class"`` keys).
    """

    def __init__(
        self,
        logger: TraceHubLogger | None = None,
        level: int | str = logging.NOTSET,
        *,
        flush_timeout: float = DEFAULT_FLUSH_TIMEOUT,
    ) -> None:
        super().__init__(level)
        self._logger = logger
        self._flush_timeout = flush_timeout

    def handle(self, record: logging.LogRecord) -> logging.LogRecord | bool:  # type: ignore[override]
        """Filter and emit without the handler lock: the SDK logger is thread-safe.

        Skipping the lock also means a slow or re-entrant emit can never hold up other
        threads' logging, and ``shutdown`` (which takes this lock) never waits on us.
        """
        rv = self.filter(record)
        if rv:
            self.emit(record if rv is True else rv)
        return rv

    def emit(self, record: logging.LogRecord) -> None:
        """Forward one record, unless it would feed the SDK's own logging back to it."""
        if (
            record.name.partition(".")[0] in IGNORED_LOGGER_ROOTS
            or is_sdk_internal()
            or getattr(_emitting, "active", False)
        ):
            return
        target = self._logger if self._logger is not None else _default_logger()
        if target is None:
            return
        _emitting.active = True
        try:
            self._forward(target, record)
        except Exception:
            self.handleError(record)
        finally:
            _emitting.active = False

    def _forward(self, target: Any, record: logging.LogRecord) -> None:
        """Translate ``record`` into one ``target.log`` call."""
        exc_info = record.exc_info
        exception = exc_info[1] if exc_info else None
        extra = {k: v for k, v in record.__dict__.items() if k not in _STANDARD_ATTRS}
        # ``extra={"fingerprint": [...]}`` steers the grouping; it is not an attribute to store.
        fingerprint = extra.pop("fingerprint", None)
        target.log(
            _LEVELS.get(record.levelno) or tracehub_level(record.levelno),
            _message(record),
            exception=exception,
            stack_trace=record.stack_info if exception is None else None,
            module=record.name,
            extra=extra or None,
            fingerprint=fingerprint,
        )

    def flush(self) -> None:
        """Ask the SDK to send what it holds, waiting at most ``flush_timeout`` seconds.

        Under ``dictConfig`` (which holds logging's module lock) it does not wait at all:
        dictConfig has just cleared every logger's level cache, so the worker's next HTTP
        log call (``httpx``/``httpcore`` check their level) needs that very lock, and
        waiting for the worker would only burn the whole timeout.
        """
        target = self._logger if self._logger is not None else _default_logger()
        if target is None or is_sdk_internal():
            return
        timeout = 0.0 if _holds_logging_lock() else self._flush_timeout
        # flush runs inside logging.shutdown and dictConfig: it must never raise.
        with contextlib.suppress(Exception):
            target.flush(timeout=timeout)


def _message(record: logging.LogRecord) -> str:
    """Return the formatted message, or the raw one if ``%``-formatting fails."""
    try:
        return record.getMessage()
    except Exception:
        # A bad format string is a bug in the caller's log line; keep the line anyway.
        return f"{record.msg!s} (unformattable arguments: {record.args!r})"


def _holds_logging_lock() -> bool:
    """True if this thread holds logging's module lock (False when that can't be told)."""
    is_owned = getattr(getattr(logging, "_lock", None), "_is_owned", None)
    try:
        return bool(is_owned()) if is_owned is not None else False
    except Exception:
        return False


def _default_logger() -> TraceHubLogger | None:
    """The process default TraceHub logger, imported late to avoid an import cycle."""
    import tracehub

    return tracehub.get_default_logger()
