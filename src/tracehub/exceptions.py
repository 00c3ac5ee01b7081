"""The SDK's one error tree.

::

    TraceHubError                 base class: ``except TraceHubError`` catches them all
    ├── TraceHubConfigError       an invalid constructor argument (raised at construction)
    └── TraceHubTransportError    never raised by this SDK; kept for tracehub-logger 1.2.0 code

Only construction raises: logging calls, ``flush()`` and ``close()`` never raise, so an
application's error path can't be broken by its error tracker. A batch the endpoint could
not take is no exception: the SDK retries it, dead-letters it and reports it through the
``tracehub`` stdlib logger and :meth:`~tracehub.TraceHubLogger.stats`.
"""

from __future__ import annotations

__all__ = ["TraceHubConfigError", "TraceHubError", "TraceHubTransportError"]


class TraceHubError(Exception):
    """Base class of every error the SDK raises."""


class TraceHubConfigError(TraceHubError, ValueError):
    """A constructor argument is invalid; the message names it and says what is expected."""


class TraceHubTransportError(TraceHubError):
    """Exported because ``tracehub-logger`` 1.2.0 exported it and code catches it by name.

    This SDK never raises it: delivery failures are retried, dead-lettered and counted.
    A custom :class:`~tracehub.transport.Transport` may raise it from ``send``; the worker
    treats any exception there as an undelivered batch.
    """

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        #: HTTP status of the refusal, or None for a network failure.
        self.status = status
