"""TraceHub SDK: non-blocking logging and error capture for a self-hosted TraceHub.

::

    from tracehub import TraceHubLogger

    logger = TraceHubLogger(api_key="th_...", service="orders", environment="production")
    logger.info("user logged in", module="auth", extra={"user_id": 42})

Only the names in ``__all__`` are public; everything else may change. They include every
name ``tracehub-logger`` 1.2.0 exported, so code written for it imports unchanged.
"""

from tracehub._version import __version__
from tracehub.client import TraceHubLogger, get_default_logger, set_default_logger
from tracehub.config import DEFAULT_ENDPOINT, DeadLetter, Delivery, Retry
from tracehub.exceptions import TraceHubConfigError, TraceHubError, TraceHubTransportError
from tracehub.models import Stats
from tracehub.stacktrace import ErrorOptions

__all__ = [
    "DEFAULT_ENDPOINT",
    "DeadLetter",
    "Delivery",
    "ErrorOptions",
    "Retry",
    "Stats",
    "TraceHubConfigError",
    "TraceHubError",
    "TraceHubLogger",
    "TraceHubTransportError",
    "__version__",
    "get_default_logger",
    "set_default_logger",
]
