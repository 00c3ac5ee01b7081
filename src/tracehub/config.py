"""Validated logger settings: every check and default lives here, in one place.

A bad value fails at construction with :class:`~tracehub.TraceHubConfigError` naming the
parameter and what is expected, never later on a background thread.
"""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

from tracehub.exceptions import TraceHubConfigError
from tracehub.limits import MAX_ENTRIES_PER_BATCH

__all__ = [
    "DEFAULT_DLQ_PATH",
    "DEFAULT_ENDPOINT",
    "GROUPS",
    "ClientConfig",
    "DeadLetter",
    "Delivery",
    "Retry",
]

T = TypeVar("T")
_OptionsT = TypeVar("_OptionsT", bound="_Options")

#: Where ``tracehub server`` listens by default; the SDK has no built-in remote address.
DEFAULT_ENDPOINT = "http://127.0.0.1:8000"
#: Environment variable that overrides :data:`DEFAULT_ENDPOINT`.
ENDPOINT_ENV = "TRACEHUB_ENDPOINT"
DEFAULT_DLQ_PATH = "~/.tracehub/dlq"
#: Bytes the dead-letter directory may hold before its oldest files are dropped.
DEFAULT_DLQ_MAX_BYTES = 64 * 1024 * 1024
#: Seconds ``close()`` (and the exit hook) waits for delivery before dead-lettering.
DEFAULT_CLOSE_TIMEOUT = 5.0


#: Validates one raw option value, given its name for the message; returns it normalised.
Check = Callable[[str, Any], Any]


def _option(default: T, check: Check, doc: str) -> T:
    """Declare an option once: its default, its check and the line the docs show."""
    result: T = field(default=default, metadata={"check": check, "doc": doc})
    return result


class _Options:
    """Base of the option groups: each field is checked and normalised at construction."""

    def __post_init__(self) -> None:
        for item in fields(self):  # type: ignore[arg-type]  # subclasses are dataclasses
            value = item.metadata["check"](item.name, getattr(self, item.name))
            object.__setattr__(self, item.name, value)


@dataclass(frozen=True, kw_only=True)
class Delivery(_Options):
    """When batches leave and how each request is made (``delivery=Delivery(...)``)."""

    batch_size: int = _option(
        50,
        lambda name, value: _int(name, value, low=1, high=MAX_ENTRIES_PER_BATCH),
        "Entries waiting that wake the worker at once (1 to 1000). A request carries everything "
        "waiting, up to 1000 entries / 4 MiB.",
    )
    flush_interval: float = _option(
        5.0,
        lambda name, value: _number(name, value, allow_zero=True),
        "Seconds between sends when fewer than `batch_size` wait. `0` sends whenever "
        "anything waits.",
    )
    max_buffer: int = _option(
        10_000,
        lambda name, value: _int(name, value, low=1),
        "Entries held in memory; when full the **oldest** are dropped and counted.",
    )
    timeout: float = _option(
        10.0,
        lambda name, value: _number(name, value, allow_zero=False),
        "Seconds bounding each HTTP request.",
    )
    compress: bool = _option(
        True,
        lambda _name, value: bool(value),
        "gzip request bodies (`Content-Encoding: gzip`).",
    )
    close_timeout: float = _option(
        DEFAULT_CLOSE_TIMEOUT,
        lambda name, value: _number(name, value, allow_zero=True),
        "Default deadline (seconds) of `close()` and of the exit hook.",
    )


@dataclass(frozen=True, kw_only=True)
class Retry(_Options):
    """How a failed request is retried (``retry=Retry(...)``)."""

    max_retries: int = _option(
        3,
        lambda name, value: _int(name, value, low=0),
        "Retries per request for 5xx, 408, 429, timeouts and connection errors.",
    )
    retry_backoff: float = _option(
        0.5,
        lambda name, value: _number(name, value, allow_zero=True),
        "Base of the exponential backoff between retries (seconds), with jitter.",
    )
    max_backoff: float = _option(
        30.0,
        lambda name, value: _number(name, value, allow_zero=True),
        "Cap of that backoff (seconds).",
    )


@dataclass(frozen=True, kw_only=True)
class DeadLetter(_Options):
    """Where undeliverable batches are kept on disk (``dead_letter=DeadLetter(...)``)."""

    dlq_path: str | os.PathLike[str] | None = _option(  # noqa: RUF009 - returns a dataclasses.field
        DEFAULT_DLQ_PATH,
        lambda _name, value: _dlq_path(value),
        "Dead-letter directory; `None` disables it (undeliverable entries are then counted "
        "as lost).",
    )
    dlq_max_bytes: int = _option(
        DEFAULT_DLQ_MAX_BYTES,
        lambda name, value: _int(name, value, low=1),
        "Size bound of the dead-letter directory (oldest files dropped, with a warning).",
    )


#: The option groups, in the order the docs list them; each also exists as a flat keyword.
GROUPS: dict[str, type[_Options]] = {
    "delivery": Delivery,
    "retry": Retry,
    "dead_letter": DeadLetter,
}


def group_from(keyword: str, given: _OptionsT | None, flat: Mapping[str, object]) -> _OptionsT:
    """The group ``keyword`` from its object or from the flat keywords, never both.

    ``flat`` maps each of the group's option names to the constructor's keyword value; a
    value other than the default set both ways is ambiguous and raises.
    """
    cls = GROUPS[keyword]
    if given is None:
        built: _OptionsT = cls(**{f.name: flat[f.name] for f in fields(cls)})  # type: ignore[assignment, arg-type]
        return built
    for item in fields(given):  # type: ignore[arg-type]
        if flat[item.name] != item.default:
            raise TraceHubConfigError(
                f"{item.name} given twice: as a keyword and in {keyword}=; pass it once"
            )
    return given


@dataclass(frozen=True)
class ClientConfig:
    """The settings of one :class:`~tracehub.TraceHubLogger`, validated."""

    api_key: str
    service: str
    environment: str
    endpoint: str
    delivery: Delivery
    retry: Retry
    dead_letter: DeadLetter

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
        delivery: Delivery,
        retry: Retry,
        dead_letter: DeadLetter,
    ) -> ClientConfig:
        """Validate the identity arguments; raise TraceHubConfigError naming the culprit."""
        if not isinstance(api_key, str) or not api_key.strip():
            raise TraceHubConfigError("api_key is required")
        return cls(
            api_key=api_key.strip(),
            service=_required_text("service", service),
            environment=_required_text("environment", environment),
            endpoint=_endpoint(endpoint),
            delivery=delivery,
            retry=retry,
            dead_letter=dead_letter,
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
