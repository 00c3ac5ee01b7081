"""What a logs query asks for: the validated :class:`LogFilter` the log queries take.

The web layer builds it from a request's parameters
(:func:`tracehub_server.web_params.parse_log_filter`); the bounds below are what every
filter is held to, so no query can be unbounded.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from tracehub.entry import LEVELS as ENTRY_LEVELS

#: The levels a filter takes (the entry's, :mod:`tracehub.entry`).
LEVELS = ENTRY_LEVELS
DEFAULT_LIMIT = 50
MAX_LIMIT = 1000
#: Without ``since``, the explorer shows the last day.
DEFAULT_WINDOW = timedelta(hours=24)
DEFAULT_RETENTION_DAYS = 30
MAX_SHORT_VALUE_CHARS = 256
MAX_TRACE_ID_CHARS = 128
MAX_QUERY_CHARS = 200
MAX_QUERY_TERMS = 8
MAX_EXTRA_FILTERS = 10
MAX_EXTRA_KEY_CHARS = 100
MAX_EXTRA_VALUE_CHARS = 1000
MAX_EXTRA_DEPTH = 5
MAX_CURSOR_CHARS = 200
#: Values that repeat (``level``, ``service``...) are capped so a URL cannot build a huge IN list.
MAX_REPEATS = 20


class FilterError(ValueError):
    """A query parameter is invalid; ``param`` names it for the 422 answer."""

    def __init__(self, param: str, message: str) -> None:
        super().__init__(f"{param}: {message}")
        self.param = param
        self.message = message


@dataclass(frozen=True, slots=True)
class Cursor:
    """Position after the last row of a page (newest first): its time and event id."""

    timestamp: datetime
    event_id: uuid.UUID

    def encode(self) -> str:
        """The opaque, URL-safe form handed to clients."""
        raw = f"{self.timestamp.isoformat()}|{self.event_id}".encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def decode(cls, text: str) -> Cursor:
        """Parse :meth:`encode`'s output; raises FilterError('cursor', ...) otherwise."""
        if len(text) > MAX_CURSOR_CHARS:
            raise FilterError("cursor", "is not a cursor returned by this API")
        try:
            raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode()
            stamp, _, event = raw.partition("|")
            return cls(timestamp=cursor_time(stamp), event_id=uuid.UUID(event))
        except (ValueError, UnicodeDecodeError, binascii.Error):
            raise FilterError("cursor", "is not a cursor returned by this API") from None


def cursor_time(text: str) -> datetime:
    """A cursor's time in UTC; ValueError when naive or outside the years 1970-9000.

    The web layer signs cursors (``web_params.sign_cursor``), so a forged one never gets
    here; this bound is the second line: an extreme date such as
    ``0001-01-01T00:00:00+23:59`` is refused here, never overflowing in the database driver.
    """
    when = datetime.fromisoformat(text)
    if when.tzinfo is None:
        raise ValueError("naive")
    try:
        when = when.astimezone(timezone.utc)
    except OverflowError:
        raise ValueError("out of range") from None
    if not 1970 <= when.year <= 9000:
        raise ValueError("out of range")
    return when


@dataclass(frozen=True, slots=True)
class ExtraFilter:
    """``extra.<path>=<value>``: matches when ``extra`` contains any of ``candidates``.

    Each candidate is a JSON document for ``extra @> candidate``; a value that parses as a
    JSON number, boolean or null is tried both typed and as a string.
    """

    path: tuple[str, ...]
    value: str
    candidates: tuple[Any, ...]


@dataclass(frozen=True, slots=True)
class LogFilter:
    """A validated logs query. ``since`` is always set; ``until`` may be open-ended."""

    since: datetime
    until: datetime | None = None
    projects: tuple[str, ...] = ()
    levels: tuple[str, ...] = ()
    services: tuple[str, ...] = ()
    environments: tuple[str, ...] = ()
    modules: tuple[str, ...] = ()
    trace_id: str | None = None
    q: str | None = None
    terms: tuple[str, ...] = ()
    extra: tuple[ExtraFilter, ...] = ()
    limit: int = DEFAULT_LIMIT
    cursor: Cursor | None = None
    #: The parameters as given (minus cursor), to rebuild links such as "next page".
    raw: tuple[tuple[str, str], ...] = field(default=(), compare=False)
