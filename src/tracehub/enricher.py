"""Enricher: the trace id of the current context, the thread's name, caller-side error capture.

The trace id lives in a :class:`contextvars.ContextVar`, so it follows the code that
set it: each asyncio task works on a copy of its creator's context (two concurrent
requests on one event loop never see each other's id) and a new thread starts with
no id at all.

Each entry names its thread as Python's ``logging`` does (``threadName``) and as
``tracehub-logger`` 1.2.0 did: ``MainThread``, ``ThreadPoolExecutor-0_3``. A name says more
to a reader than an ident, which the OS reuses.

Error capture runs on the caller's thread because only there do ``sys.exc_info()``
and the caller's stack mean anything; it produces plain strings so nothing that
keeps frames alive is buffered.
"""

from __future__ import annotations

import sys
import threading
import traceback
from collections.abc import Sequence
from contextvars import ContextVar, Token
from types import FrameType, TracebackType

from tracehub.models import ErrorInfo
from tracehub.serializer import safe_text
from tracehub.stacktrace import StackCapture

__all__ = [
    "THREAD",
    "capture_error",
    "clear_trace_id",
    "get_trace_id",
    "reset_trace_id",
    "set_trace_id",
]

_trace_id: ContextVar[str | None] = ContextVar("tracehub_trace_id", default=None)

#: Bound ``get`` of the context variable, for the logging hot path.
current_trace_id = _trace_id.get

ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None]
#: What ``exc_info=`` accepts, as in :mod:`logging`: True for the exception being handled
#: (or the caller's stack outside ``except``), an exception, or a ``sys.exc_info()`` tuple.
ExcInfoArg = bool | BaseException | ExcInfo | tuple[None, None, None] | None
#: A custom grouping fingerprint: a list of strings (one string is a list of one).
Fingerprint = Sequence[str] | str


def set_trace_id(trace_id: str | None) -> Token[str | None]:
    """Bind ``trace_id`` to the current context; pass the token to :func:`reset_trace_id`."""
    if trace_id is not None and not isinstance(trace_id, str):
        trace_id = str(trace_id)
    return _trace_id.set(trace_id or None)


def get_trace_id() -> str:
    """Return the trace id bound to the current context, or ``""`` when none is
    (``tracehub-logger`` 1.2.0's contract: ``"req-" + get_trace_id()`` always works)."""
    return _trace_id.get() or ""


def clear_trace_id() -> None:
    """Unbind the trace id in the current context."""
    _trace_id.set(None)


def reset_trace_id(token: Token[str | None]) -> None:
    """Restore the trace id that was current before the matching :func:`set_trace_id`."""
    _trace_id.reset(token)


class _ThreadName(threading.local):
    """``THREAD.name``: the current thread's name, looked up once per thread.

    ``threading.current_thread().name`` costs about five times this attribute read, on a
    logging call of ~0.6 us. The name is the one the thread had when it first logged; a
    thread renamed after that keeps its first name in TraceHub.
    """

    name: str

    def __init__(self) -> None:
        self.name = threading.current_thread().name


#: Per-thread holder of the thread's name (read ``THREAD.name``).
THREAD = _ThreadName()


def capture_error(
    exc_info: object,
    exception: object,
    error_message: object,
    stack_trace: object,
    stacks: StackCapture | None = None,
    fingerprint: object = None,
) -> ErrorInfo | None:
    """Build ``(error_type, error_message, stack_trace, exception, fingerprint)``.

    The error details come the four documented ways:

    1. ``exception=e`` — from ``e`` and ``e.__traceback__`` (chains and groups included).
    2. ``exc_info=True`` inside ``except`` — from ``sys.exc_info()``.
    3. ``exc_info=True`` outside ``except`` — the caller's stack, SDK frames removed.
    4. explicit ``error_message`` / ``stack_trace`` override what was captured.

    With ``stacks``, an exception's chain is also captured as data (the wire ``exception``
    values, :mod:`tracehub.stacktrace`) and its text written from the same walk.
    ``fingerprint`` (a list of strings) is kept as given, for the worker to check.
    """
    error_type = message = trace = None
    values = None
    exc = _resolve_exception(exc_info, exception)
    if exc is not None:
        error_type = type(exc).__name__
        message = safe_text(exc)
        if stacks is not None:
            try:
                values, trace = stacks.capture(exc)
            except Exception:
                trace = format_exception(exc)
        else:
            trace = format_exception(exc)
    elif exception is not None:
        error_type, message = type(exception).__name__, safe_text(exception)
    elif exc_info:
        trace = format_caller_stack()
    if error_message is not None:
        message = error_message if isinstance(error_message, str) else safe_text(error_message)
    if stack_trace is not None:
        trace = stack_trace if isinstance(stack_trace, str) else safe_text(stack_trace)
    if error_type is None and message is None and trace is None and fingerprint is None:
        return None
    return (error_type, message, trace, values, _fingerprint(fingerprint))


def _fingerprint(value: object) -> list[str] | None:
    """A snapshot of a custom fingerprint: a list of strings (one string is a list of one)."""
    if value is None:
        return None
    if isinstance(value, str):
        return [value]
    if isinstance(value, (list, tuple)):
        return [item if isinstance(item, str) else safe_text(item) for item in value]
    return [safe_text(value)]


def _resolve_exception(exc_info: object, exception: object) -> BaseException | None:
    if isinstance(exception, BaseException):
        return exception
    if exception is not None or not exc_info:
        return None
    if isinstance(exc_info, BaseException):
        return exc_info
    if isinstance(exc_info, tuple) and len(exc_info) == 3:
        return exc_info[1] if isinstance(exc_info[1], BaseException) else None
    return sys.exc_info()[1]


def format_exception(exc: BaseException) -> str:
    """Format ``exc`` as Python prints it: chained causes and exception groups included."""
    try:
        return "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    except Exception:
        return f"{type(exc).__name__}: {safe_text(exc)}\n(traceback could not be formatted)\n"


def format_caller_stack() -> str:
    """Format the current stack, starting at the first frame outside the SDK."""
    frame: FrameType | None = sys._getframe(1)
    while frame is not None and _is_sdk_frame(frame):
        frame = frame.f_back
    if frame is None:
        return ""
    try:
        return "Stack (most recent call last):\n" + "".join(traceback.format_stack(frame))
    except Exception:
        return "(stack could not be formatted)\n"


def _is_sdk_frame(frame: FrameType) -> bool:
    # The stdlib logging frames are skipped too: a bridged record's stack starts at the
    # application's ``log.info(...)`` line, not inside ``logging``.
    name = frame.f_globals.get("__name__", "")
    if not isinstance(name, str):
        return False
    root = name.partition(".")[0]
    return root in ("tracehub", "logging")
