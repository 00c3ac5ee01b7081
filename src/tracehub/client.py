"""TraceHubLogger: the public client, and the process-wide default logger.

A logging call does the minimum on the caller's thread — take the time, snapshot
``extra``, read the trace id and thread name, capture exception text when asked — and
appends one tuple to the :class:`~tracehub.buffer.RingBuffer`. It takes no lock, does
no I/O, and never raises. Everything else happens on the
:class:`~tracehub.batcher.BatchWorker` thread.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import threading
import weakref
from collections.abc import Mapping
from pathlib import Path
from time import time
from typing import TYPE_CHECKING, Protocol, cast

from tracehub import _diagnostics
from tracehub._version import __version__
from tracehub.batcher import BatchWorker
from tracehub.buffer import RingBuffer
from tracehub.config import ClientConfig, DeadLetter, Delivery, Retry, group_from
from tracehub.dlq import DeadLetterQueue
from tracehub.enricher import THREAD, ExcInfoArg, Fingerprint, capture_error, current_trace_id
from tracehub.entry import DEBUG, ERROR, FATAL, INFO, WARN, normalize_level
from tracehub.models import Stats
from tracehub.serializer import _IMMUTABLE, EntryEncoder, safe_text, snapshot_extra
from tracehub.stacktrace import ErrorOptions, StackCapture
from tracehub.transport import HttpTransport, Transport

if TYPE_CHECKING:
    from tracehub.integrations.unhandled import UnhandledHooks

__all__ = ["TraceHubLogger", "get_default_logger", "set_default_logger"]

#: Threshold used after close(): never reached, so a late call does nothing else.
_NEVER = 1 << 62
#: Threshold before the worker runs: the first logging call starts it.
_FIRST_USE = 1


def _discard(_record: object) -> None:
    """Stands in for the buffer's append after close(): logging becomes a no-op."""


class _LevelMethod(Protocol):
    """The signature ``debug``, ``info`` and ``warn`` share, as called on a logger.

    ``message`` is typed ``str``; anything else is still logged as ``str(message)``.
    """

    def __call__(
        self,
        message: str,
        *,
        module: str = "",
        extra: Mapping[str, object] | None = None,
        exc_info: ExcInfoArg = False,
    ) -> None: ...


def _level_method(level: str) -> _LevelMethod:
    """Build ``debug``/``info``/``warn``: one body, the level bound in a closure.

    The body is the caller's whole cost, so it stays inline: the level is a closure cell
    (as structlog's ``_native.py`` binds it), not an argument of a shared helper, which
    would add a Python call. bench/micro_sdk.py measured the generated methods against
    the written-out copies in one run (docs/performance.md).
    """

    def method(
        self: TraceHubLogger,
        message: str,
        *,
        module: str = "",
        extra: Mapping[str, object] | None = None,
        exc_info: ExcInfoArg = False,
    ) -> None:
        if exc_info:
            return self._capture(level, message, exc_info, None, None, None, module, extra, None)
        try:
            if extra is not None:  # snapshot_extra's common case, inlined (no call)
                if type(extra) is dict:
                    extra = extra.copy()
                    for value in extra.values():
                        if type(value) not in _IMMUTABLE:
                            extra = snapshot_extra(extra)  # nested or mutable values
                            break
                else:
                    extra = snapshot_extra(extra)
            self._append(
                (
                    level,
                    message if type(message) is str else safe_text(message),
                    time(),
                    module,
                    extra,
                    current_trace_id(),
                    THREAD.name,
                    None,
                )
            )
            if len(self._queue) >= self._threshold:
                self._kick()
        except Exception as exc:
            _caller_failure(exc)
        return None

    method.__name__ = level.lower()
    method.__qualname__ = f"TraceHubLogger.{method.__name__}"
    method.__doc__ = f"Log at {level}. Never raises, never blocks."
    # A class attribute: Python binds ``self`` on access, which a callback protocol cannot
    # say; _LevelMethod is the signature a caller of ``logger.info`` sees.
    return cast("_LevelMethod", method)


class TraceHubLogger:
    """Ships log entries and errors to a TraceHub server without blocking the caller.

    The options are documented on the docs site's SDK pages (``docs/sdk/configuration.md``,
    generated from :mod:`tracehub.config`). They come in three groups, each a small object
    as httpx's ``Timeout`` and ``Limits`` are: ``delivery=Delivery(...)``,
    ``retry=Retry(...)`` and ``dead_letter=DeadLetter(...)``. Each option also stays a flat
    keyword (``batch_size=...``), as ``tracehub-logger`` 1.2.0 took it; setting one both
    ways raises :class:`~tracehub.TraceHubConfigError`. ``transport`` and ``errors`` exist
    for tests and for error capture (:class:`~tracehub.ErrorOptions`).

    ``api_key, service, environment, endpoint`` may be given by position, as
    ``tracehub-logger`` 1.2.0 allowed; every other option is keyword-only, so a call can
    never bind a number to the wrong knob. ``endpoint`` None or ``""`` (1.2.0's default)
    means ``TRACEHUB_ENDPOINT`` if set, else :data:`tracehub.DEFAULT_ENDPOINT`.
    """

    def __init__(
        self,
        api_key: str,
        service: str,
        environment: str,
        endpoint: str | None = None,
        *,
        delivery: Delivery | None = None,
        retry: Retry | None = None,
        dead_letter: DeadLetter | None = None,
        batch_size: int = Delivery.batch_size,
        flush_interval: float = Delivery.flush_interval,
        max_buffer: int = Delivery.max_buffer,
        max_retries: int = Retry.max_retries,
        timeout: float = Delivery.timeout,
        compress: bool = Delivery.compress,
        dlq_path: str | os.PathLike[str] | None = DeadLetter.dlq_path,
        dlq_max_bytes: int = DeadLetter.dlq_max_bytes,
        close_timeout: float = Delivery.close_timeout,
        retry_backoff: float = Retry.retry_backoff,
        max_backoff: float = Retry.max_backoff,
        transport: Transport | None = None,
        errors: ErrorOptions | None = None,
    ) -> None:
        # The flat keywords, by name: each group takes its fields from here (defined once,
        # in tracehub.config), so no option is listed again below.
        flat = locals()
        self.config = ClientConfig.build(
            api_key=api_key,
            service=service,
            environment=environment,
            endpoint=endpoint,
            delivery=group_from("delivery", delivery, flat),
            retry=group_from("retry", retry, flat),
            dead_letter=group_from("dead_letter", dead_letter, flat),
        )
        delivery, retry = self.config.delivery, self.config.retry
        self._buffer = RingBuffer(delivery.max_buffer)
        self._stacks = StackCapture(errors)  # in-app rules, locals, the per-frame cache
        self._worker = BatchWorker(
            self._buffer,
            EntryEncoder(service=service, environment=environment, sdk_version=__version__),
            transport if transport is not None else self._http_transport(),
            self._make_dlq(self.config.dead_letter),
            flush_interval=delivery.flush_interval,
            retry_backoff=retry.retry_backoff,
            max_backoff=retry.max_backoff,
            batch_timeout=delivery.timeout,
        )
        self._close_lock = threading.Lock()
        self._closed = False
        self._arm()
        _register(self)

    # -- construction helpers --------------------------------------------------------

    def _http_transport(self) -> HttpTransport:
        cfg = self.config
        return HttpTransport(
            cfg.ingest_url,
            cfg.api_key,
            timeout=cfg.delivery.timeout,
            max_retries=cfg.retry.max_retries,
            compress=cfg.delivery.compress,
            retry_backoff=cfg.retry.retry_backoff,
            max_backoff=cfg.retry.max_backoff,
        )

    @staticmethod
    def _make_dlq(options: DeadLetter) -> DeadLetterQueue | None:
        if options.dlq_path is None:
            return None
        return DeadLetterQueue(Path(options.dlq_path), max_bytes=options.dlq_max_bytes)

    def _arm(self) -> None:
        """Bind the hot path to the current buffer; the next call starts the worker."""
        self._queue = self._buffer.queue
        self._append = self._buffer.append
        self._wake = self._worker.wake
        # Below the batch size when flush_interval is 0: send whenever anything waits.
        delivery = self.config.delivery
        batch = delivery.batch_size if delivery.flush_interval > 0 else 1
        self._batch_threshold = min(batch, delivery.max_buffer)
        self._threshold = _FIRST_USE

    # -- the hot path ----------------------------------------------------------------

    def _kick(self) -> None:
        """Threshold crossed: enforce the bound, start/wake the worker (rare path)."""
        try:
            if len(self._queue) > self._buffer.capacity:
                self._buffer.trim()
            if not self._wake.is_set():
                if self._threshold == _FIRST_USE:
                    self._threshold = self._batch_threshold
                self._worker.ensure_running()
                self._wake.set()
        except Exception as exc:
            _diagnostics.report("kick", f"could not wake the delivery thread: {exc!r}")

    debug = _level_method(DEBUG)
    info = _level_method(INFO)
    warn = _level_method(WARN)
    warning = warn

    # error/fatal share _capture, the one general path; generating them as well would trade
    # their second signature for a Protocol restating it (mypy needs one), so they stay.
    def error(
        self,
        message: str,
        *,
        exc_info: ExcInfoArg = False,
        exception: BaseException | None = None,
        error_message: str | None = None,
        stack_trace: str | None = None,
        module: str = "",
        extra: Mapping[str, object] | None = None,
        fingerprint: Fingerprint | None = None,
    ) -> None:
        """Log at ERROR, with error details captured the four documented ways.

        ``fingerprint`` (a list of strings) overrides the issue grouping; ``"{{ default }}"``
        inside it stands for the default fingerprint.
        """
        self._capture(
            ERROR, message, exc_info, exception, error_message, stack_trace, module, extra, None,
            fingerprint,
        )  # fmt: skip

    def fatal(
        self,
        message: str,
        *,
        exc_info: ExcInfoArg = False,
        exception: BaseException | None = None,
        error_message: str | None = None,
        stack_trace: str | None = None,
        module: str = "",
        extra: Mapping[str, object] | None = None,
        fingerprint: Fingerprint | None = None,
    ) -> None:
        """Log at FATAL, with error details captured the four documented ways.

        ``fingerprint`` (a list of strings) overrides the issue grouping; ``"{{ default }}"``
        inside it stands for the default fingerprint.
        """
        self._capture(
            FATAL, message, exc_info, exception, error_message, stack_trace, module, extra, None,
            fingerprint,
        )  # fmt: skip

    critical = fatal

    def log(
        self,
        level: str | int,
        message: str,
        *,
        exc_info: ExcInfoArg = False,
        exception: BaseException | None = None,
        error_message: str | None = None,
        stack_trace: str | None = None,
        module: str = "",
        extra: Mapping[str, object] | None = None,
        trace_id: str | None = None,
        fingerprint: Fingerprint | None = None,
    ) -> None:
        """Log at ``level`` (a wire level, a stdlib name such as WARNING, or a number).

        ``trace_id=None`` takes the current context's trace id. Used by the stdlib
        logging bridge.
        """
        try:
            wire_level = normalize_level(level)
        except Exception:
            wire_level = INFO
        self._capture(
            wire_level, message, exc_info, exception, error_message, stack_trace, module, extra,
            trace_id, fingerprint,
        )  # fmt: skip

    def _capture(
        self,
        level: str,
        message: object,
        exc_info: object,
        exception: object,
        error_message: object,
        stack_trace: object,
        module: object,
        extra: object,
        trace_id: object,
        fingerprint: object = None,
    ) -> None:
        """The general path: error capture and an explicit trace id."""
        try:
            error = None
            if (
                exc_info
                or exception is not None
                or error_message is not None
                or stack_trace
                or fingerprint is not None
            ):
                error = capture_error(
                    exc_info, exception, error_message, stack_trace, self._stacks, fingerprint
                )
            if type(message) is not str:
                message = safe_text(message)
            if trace_id is None:
                trace_id = current_trace_id()
            elif type(trace_id) is not str:
                trace_id = safe_text(trace_id)
            snap = None if extra is None else snapshot_extra(extra)
            self._append((level, message, time(), module, snap, trace_id, THREAD.name, error))
            if len(self._queue) >= self._threshold:
                self._kick()
        except Exception as exc:
            _caller_failure(exc)

    # -- control ---------------------------------------------------------------------

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until everything logged before the call was delivered or dead-lettered.

        Returns False when ``timeout`` (default: bounded by the retry policy) ran out
        first. Never raises.
        """
        try:
            if self._closed:
                return True
            with _diagnostics.sdk_internal():
                return self._worker.flush(self._bound(timeout))
        except Exception as exc:
            _diagnostics.report("flush", f"flush failed: {exc!r}")
            return False

    def close(self, timeout: float | None = None) -> None:
        """Flush for at most ``timeout`` seconds (default ``close_timeout``), then stop.

        What is still undelivered at the deadline is dead-lettered. Idempotent; later
        logging calls are no-ops. Runs automatically at interpreter exit.
        """
        with self._close_lock:
            if self._closed:
                return
            self._closed = True
            self._append = _discard
            self._threshold = _NEVER
        try:
            with _diagnostics.sdk_internal():
                limit = (
                    self.config.delivery.close_timeout
                    if timeout is None
                    else max(float(timeout), 0.0)
                )
                self._worker.close(limit)
                _diagnostics.flush_pending()
        except Exception as exc:
            _diagnostics.report("close", f"close failed: {exc!r}")
        finally:
            _forget_default(self)

    @property
    def closed(self) -> bool:
        """True once close() was called."""
        return self._closed

    def stats(self) -> Stats:
        """Delivery counters for this logger in this process (see :class:`Stats`)."""
        if not self._closed and self._worker.thread is not None:
            self._worker.ensure_running()
        return self._worker.stats()

    def capture_unhandled(self) -> UnhandledHooks:
        """Report uncaught exceptions (threads, asyncio, the main thread) through this logger."""
        from tracehub.integrations.unhandled import install

        return install(self)

    def _bound(self, timeout: float | None) -> float:
        if timeout is not None:
            return max(float(timeout), 0.0)
        delivery, retry = self.config.delivery, self.config.retry
        per_batch = (retry.max_retries + 1) * (delivery.timeout + retry.max_backoff)
        return per_batch * 2 + delivery.flush_interval + 5.0

    def _after_fork_in_child(self) -> None:
        """Fresh buffer, locks, worker state and connection; nothing of the parent's."""
        self._close_lock = threading.Lock()
        self._buffer.reset_after_fork()
        self._worker.reset_after_fork()
        if self._closed:
            self._append, self._threshold = _discard, _NEVER
        else:
            self._arm()

    def __repr__(self) -> str:
        cfg = self.config
        return f"<TraceHubLogger service={cfg.service!r} endpoint={cfg.endpoint!r}>"

    def __enter__(self) -> TraceHubLogger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _caller_failure(exc: Exception) -> None:
    """A logging call failed internally: queue a report, never raise."""
    with contextlib.suppress(Exception):  # nothing may escape a logging call
        _diagnostics.report("log-call", f"a logging call failed: {type(exc).__name__}: {exc}")


# -- process-wide registry: default logger, exit and fork hooks --------------------------

_default: TraceHubLogger | None = None
_default_lock = threading.Lock()
_loggers: weakref.WeakSet[TraceHubLogger] = weakref.WeakSet()


def set_default_logger(logger: TraceHubLogger | None) -> None:
    """Make ``logger`` the one integrations use when none is passed (None unsets it)."""
    global _default
    _default = logger


def get_default_logger() -> TraceHubLogger | None:
    """The default logger: the one set explicitly, else the first one constructed."""
    return _default


def _register(logger: TraceHubLogger) -> None:
    global _default
    with _default_lock:
        _loggers.add(logger)
        if _default is None:
            _default = logger
    ref = weakref.ref(logger)
    atexit.register(_close_at_exit, ref)


def _forget_default(logger: TraceHubLogger) -> None:
    global _default
    with _default_lock:
        if _default is logger:
            _default = None


def _close_at_exit(ref: weakref.ref[TraceHubLogger]) -> None:
    logger = ref()
    if logger is not None:
        logger.close()


def _after_fork_in_child() -> None:
    global _default_lock
    _default_lock = threading.Lock()
    for logger in list(_loggers):
        try:
            logger._after_fork_in_child()
        except Exception as exc:
            _diagnostics.report("fork", f"could not reset a logger after fork: {exc!r}")


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
