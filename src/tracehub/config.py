"""Validated logger settings: every check and default lives here, in one place.

A bad value fails at construction with :class:`~tracehub.TraceHubConfigError` naming the
parameter and what is expected, never later on a background thread.
"""

from __future__ import annotations

import math
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from tracehub.exceptions import TraceHubConfigError
from tracehub.limits import MAX_ENTRIES_PER_BATCH

__all__ = ["DEFAULT_DLQ_PATH", "DEFAULT_ENDPOINT", "ClientConfig"]

#: Where ``tracehub server`` listens by default; the SDK has no built-in remote address.
DEFAULT_ENDPOINT = "http://127.0.0.1:8000"
#: Environment variable that overrides :data:`DEFAULT_ENDPOINT`.
ENDPOINT_ENV = "TRACEHUB_ENDPOINT"
DEFAULT_DLQ_PATH = "~/.tracehub/dlq"
#: Bytes the dead-letter directory may hold before its oldest files are dropped.
DEFAULT_DLQ_MAX_BYTES = 64 * 1024 * 1024
#: Seconds ``close()`` (and the exit hook) waits for delivery before dead-lettering.
DEFAULT_CLOSE_TIMEOUT = 5.0


@dataclass(frozen=True)
class ClientConfig:
    """The settings of one :class:`~tracehub.TraceHubLogger`, validated."""

    api_key: str
    service: str
    environment: str
    endpoint: str
    batch_size: int
    flush_interval: float
    max_buffer: int
    max_retries: int
    timeout: float
    compress: bool
    dlq_path: Path | None
    dlq_max_bytes: int
    close_timeout: float
    retry_backoff: float
    max_backoff: float

    @property
    def ingest_url(self) -> str:
        """The full ingest URL."""
        return self.endpoint.rstrip("/") + "/api/v1/ingest"

    @classmethod
    def build(
        cls,
        *,
        api_key: object,
        service: object,
        environment: object,
        endpoint: object,
        batch_size: object,
        flush_interval: object,
        max_buffer: object,
        max_retries: object,
        timeout: object,
        compress: object,
        dlq_path: object,
        dlq_max_bytes: object,
        close_timeout: object,
        retry_backoff: object,
        max_backoff: object,
    ) -> ClientConfig:
        """Validate raw constructor arguments; raise TraceHubConfigError naming the culprit."""
        if not isinstance(api_key, str) or not api_key.strip():
            raise TraceHubConfigError("api_key is required")
        return cls(
            api_key=api_key.strip(),
            service=_required_text("service", service),
            environment=_required_text("environment", environment),
            endpoint=_endpoint(endpoint),
            batch_size=_int("batch_size", batch_size, low=1, high=MAX_ENTRIES_PER_BATCH),
            flush_interval=_number("flush_interval", flush_interval, allow_zero=True),
            max_buffer=_int("max_buffer", max_buffer, low=1),
            max_retries=_int("max_retries", max_retries, low=0),
            timeout=_number("timeout", timeout, allow_zero=False),
            compress=bool(compress),
            dlq_path=_dlq_path(dlq_path),
            dlq_max_bytes=_int("dlq_max_bytes", dlq_max_bytes, low=1),
            close_timeout=_number("close_timeout", close_timeout, allow_zero=True),
            retry_backoff=_number("retry_backoff", retry_backoff, allow_zero=True),
            max_backoff=_number("max_backoff", max_backoff, allow_zero=True),
        )


def _required_text(name: str, value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise TraceHubConfigError(f"{name} is required (a non-empty string), got {value!r}")
    return value.strip()


def _int(name: str, value: object, *, low: int, high: int | None = None) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise TraceHubConfigError(f"{name} must be an integer, got {value!r}")
    if value < low:
        raise TraceHubConfigError(f"{name} must be >= {low}, got {value}")
    if high is not None and value > high:
        raise TraceHubConfigError(f"{name} must be <= {high}, got {value}")
    return value


def _number(name: str, value: object, *, allow_zero: bool) -> float:
    if not isinstance(value, (int, float)) or isinstance(value, bool) or math.isnan(value):
        raise TraceHubConfigError(f"{name} must be a number of seconds, got {value!r}")
    if value < 0 or (value == 0 and not allow_zero) or math.isinf(value):
        bound = ">= 0" if allow_zero else "> 0"
        raise TraceHubConfigError(f"{name} must be finite and {bound}, got {value}")
    return float(value)


def _endpoint(value: object) -> str:
    if value is None or value == "":  # "" was tracehub-logger 1.2.0's "use the default"
        value = os.environ.get(ENDPOINT_ENV) or _package_default()
    if not isinstance(value, str):
        raise TraceHubConfigError(f"endpoint must be an http(s) URL string, got {value!r}")
    try:
        parts = urlsplit(value.strip())
        port_ok = parts.port is None or parts.port > 0
    except ValueError:
        port_ok = False
        parts = urlsplit("")
    if parts.scheme not in ("http", "https") or not parts.hostname or not port_ok:
        raise TraceHubConfigError(
            f"endpoint must be an http(s) URL such as {DEFAULT_ENDPOINT}, got {value!r}"
        )
    if parts.query or parts.fragment:
        raise TraceHubConfigError(f"endpoint must not carry a query or fragment, got {value!r}")
    return value.strip().rstrip("/")


def _package_default() -> str:
    """``tracehub.DEFAULT_ENDPOINT`` as it is now: 1.2.0 read it at construction, so code
    that assigns it before creating a logger keeps working."""
    package = sys.modules.get("tracehub")  # loaded by the time a logger is built
    value = getattr(package, "DEFAULT_ENDPOINT", DEFAULT_ENDPOINT)
    return value if isinstance(value, str) and value else DEFAULT_ENDPOINT


def _dlq_path(value: object) -> Path | None:
    if value is None or value is False:
        return None
    if not isinstance(value, (str, os.PathLike)) or not str(value).strip():
        raise TraceHubConfigError(f"dlq_path must be a directory path or None, got {value!r}")
    return Path(os.path.expanduser(os.fspath(value)))
