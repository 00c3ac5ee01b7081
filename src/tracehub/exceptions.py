"""The SDK's one error tree.

::

    TraceHubError                 base class: ``except TraceHubError`` catches them all
    └── TraceHubConfigError       an invalid constructor argument (raised at construction)

Only construction raises: logging calls, ``flush()`` and ``close()`` never raise, so an
application's error path can't be broken by its error tracker. A batch the endpoint could
not take is no exception: the SDK retries it, dead-letters it and reports it through the
``tracehub`` stdlib logger and :meth:`~tracehub.TraceHubLogger.stats`.
"""

from __future__ import annotations

__all__ = ["TraceHubConfigError", "TraceHubError"]


class TraceHubError(Exception):
    """Base class of every error the SDK raises."""


class TraceHubConfigError(TraceHubError, ValueError):
    """A constructor argument is invalid; the message names it and says what is expected."""
