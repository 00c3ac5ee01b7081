"""The SDK's one error tree.

::

    TraceHubError                 base class: ``except TraceHubError`` catches them all
    ├── TraceHubConfigError       an invalid constructor argument (raised at construction)
    └── TraceHubTransportError    the ingest endpoint could not take a batch

Only construction raises: logging calls, ``flush()`` and ``close()`` never raise, so an
application's error path can't be broken by its error tracker. ``TraceHubTransportError``
is raised by :class:`~tracehub.transport.Transport` implementations that prefer to
raise, and is what the SDK reports (through the ``tracehub`` stdlib logger) when a
batch is refused.
"""

from __future__ import annotations

__all__ = ["TraceHubConfigError", "TraceHubError", "TraceHubTransportError"]


class TraceHubError(Exception):
    """Base class of every error the SDK raises."""


class TraceHubConfigError(TraceHubError, ValueError):
    """A constructor argument is invalid; the message names it and says what is expected."""


class TraceHubTransportError(TraceHubError):
    """The ingest endpoint could not take a batch (network failure or refusal)."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        #: HTTP status of the refusal, or None for a network failure.
        self.status = status
