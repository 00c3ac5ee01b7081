"""The logs explorer's filters, parsed once for the JSON API and the dashboard alike.

:func:`parse_log_filter` turns query parameters into a validated :class:`LogFilter` or raises
:class:`FilterError` naming the bad parameter (the API answers 422 with it). It touches no
database: ``project`` stays as given (an id or a name) for the caller to resolve against the
user's rights.

Every filter is bounded: the time range always has a lower bound (``since`` defaults to 24
hours ago and is clamped to the retention window), so a query only reads the newest daily
partitions, and every text value has a length cap.
"""

from __future__ import annotations

import base64
import binascii
import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Protocol

import orjson

LEVELS = ("DEBUG", "INFO", "WARN", "ERROR", "FATAL")
_LEVEL_ALIASES = {"WARNING": "WARN", "CRITICAL": "FATAL"}
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
_RELATIVE = re.compile(r"^(\d{1,6})(s|m|h|d|w)$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
_MAX_RELATIVE = timedelta(days=3650)


class FilterError(ValueError):
    """A query parameter is invalid; ``param`` names it for the 422 answer."""

    def __init__(self, param: str, message: str) -> None:
        super().__init__(f"{param}: {message}")
        self.param = param
        self.message = message


class _MultiParams(Protocol):
    def multi_items(self) -> list[tuple[str, str]]: ...


Params = _MultiParams | Mapping[str, "str | Sequence[str]"] | Iterable[tuple[str, str]]


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

    Cursors are opaque but not signed, so a client can forge one: an extreme date such as
    ``0001-01-01T00:00:00+23:59`` must be refused here, not overflow in the database driver.
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


def param_items(params: Params) -> list[tuple[str, str]]:
    """``(name, value)`` pairs of any parameter container, repeats kept."""
    if hasattr(params, "multi_items"):
        return list(params.multi_items())  # type: ignore[union-attr]
    if isinstance(params, Mapping):
        out: list[tuple[str, str]] = []
        for key, value in params.items():
            if isinstance(value, str):
                out.append((key, value))
            else:
                out.extend((key, v) for v in value)
        return out
    return list(params)


def clean_value(param: str, value: str, limit: int) -> str:
    """``value`` stripped; FilterError when too long or holding NUL (PostgreSQL refuses it)."""
    if not isinstance(value, str):
        raise FilterError(param, "must be text")
    value = value.strip()
    if len(value) > limit:
        raise FilterError(param, f"must be at most {limit} characters, got {len(value)}")
    if "\x00" in value:
        raise FilterError(param, "must not contain NUL characters")
    return value


def split_values(param: str, values: list[str], limit: int) -> tuple[str, ...]:
    """Repeated and comma-separated values, de-duplicated, at most MAX_REPEATS."""
    out: list[str] = []
    for value in values:
        for part in clean_value(param, value, limit * MAX_REPEATS).split(","):
            part = part.strip()
            if part:
                if len(part) > limit:
                    raise FilterError(param, f"each value must be at most {limit} characters")
                out.append(part)
    if len(out) > MAX_REPEATS:
        raise FilterError(param, f"at most {MAX_REPEATS} values, got {len(out)}")
    return tuple(dict.fromkeys(out))


def _parse_levels(values: list[str]) -> tuple[str, ...]:
    out = []
    for value in split_values("level", values, 16):
        level = value.upper()
        level = _LEVEL_ALIASES.get(level, level)
        if level not in LEVELS:
            raise FilterError("level", f"must be one of {', '.join(LEVELS)}, got {value!r}")
        out.append(level)
    return tuple(dict.fromkeys(out))


def parse_time(param: str, value: str, now: datetime) -> datetime:
    """An ISO 8601 time (UTC when no offset is given) or a relative age like ``15m``, ``7d``."""
    value = clean_value(param, value, 64)
    match = _RELATIVE.match(value)
    if match:
        delta = timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})
        if delta > _MAX_RELATIVE:
            raise FilterError(param, "relative times go back at most 3650 days")
        return now - delta
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        raise FilterError(
            param, "must be an ISO time (2024-05-01T12:00:00Z) or relative (15m, 24h, 7d)"
        ) from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    if not 1970 <= when.year <= 9000:
        raise FilterError(param, "must be between the years 1970 and 9000")
    return when


def parse_limit(value: str) -> int:
    """A page size from 1 to MAX_LIMIT."""
    value = clean_value("limit", value, 10)
    if not (value.isascii() and value.isdigit()):
        raise FilterError("limit", f"must be a whole number from 1 to {MAX_LIMIT}")
    limit = int(value)
    if not 1 <= limit <= MAX_LIMIT:
        raise FilterError("limit", f"must be from 1 to {MAX_LIMIT}, got {limit}")
    return limit


def _query_terms(q: str) -> tuple[str, ...]:
    """Whitespace-separated terms; a double-quoted phrase stays one term."""
    terms = [a or b for a, b in re.findall(r'"([^"]+)"|(\S+)', q)]
    terms = [t.strip() for t in terms if t.strip()]
    if len(terms) > MAX_QUERY_TERMS:
        raise FilterError("q", f"at most {MAX_QUERY_TERMS} terms, got {len(terms)}")
    return tuple(dict.fromkeys(terms))


def _extra_candidates(path: tuple[str, ...], value: str) -> tuple[Any, ...]:
    typed: list[Any] = [value]
    try:
        parsed = orjson.loads(value)
    except orjson.JSONDecodeError:
        parsed = value
    if parsed is None or isinstance(parsed, (bool, int, float)):
        typed.insert(0, parsed)
    docs = []
    for candidate in typed:
        doc: Any = candidate
        for key in reversed(path):
            doc = {key: doc}
        docs.append(doc)
    return tuple(docs)


def _parse_extra(key: str, value: str) -> ExtraFilter:
    param = key
    name = clean_value(param, key[len("extra.") :], MAX_EXTRA_KEY_CHARS)
    path = tuple(name.split("."))
    if not name or any(not part for part in path):
        raise FilterError(param, "needs a key, as in extra.user_id=usr_42")
    if len(path) > MAX_EXTRA_DEPTH:
        raise FilterError(param, f"nests at most {MAX_EXTRA_DEPTH} keys deep")
    value = clean_value(param, value, MAX_EXTRA_VALUE_CHARS)
    return ExtraFilter(path=path, value=value, candidates=_extra_candidates(path, value))


def parse_log_filter(
    params: Params,
    *,
    now: datetime | None = None,
    retention_days: int = DEFAULT_RETENTION_DAYS,
) -> LogFilter:
    """Validate explorer parameters; raises :class:`FilterError` naming the first bad one.

    Accepted: ``project``, ``level`` (repeated or comma-separated), ``service``,
    ``environment``, ``module``, ``trace_id``, ``since``, ``until``, ``q``,
    ``extra.<key>[.<key>...]``, ``limit`` and ``cursor``. Unknown parameters are ignored, so
    pages can add their own (``tail=1``).
    """
    now = now or datetime.now(timezone.utc)
    grouped: dict[str, list[str]] = {}
    extra: list[ExtraFilter] = []
    raw: list[tuple[str, str]] = []
    for key, value in param_items(params):
        if not isinstance(key, str) or len(key) > MAX_EXTRA_KEY_CHARS + 10:
            continue
        if key.startswith("extra."):
            extra.append(_parse_extra(key, value))
            if len(extra) > MAX_EXTRA_FILTERS:
                raise FilterError(key, f"at most {MAX_EXTRA_FILTERS} extra filters")
        else:
            grouped.setdefault(key, []).append(value)
        if key != "cursor":
            raw.append((key, value))

    def single(param: str, limit: int) -> str | None:
        values = grouped.get(param)
        if not values:
            return None
        if len(values) > 1:
            raise FilterError(param, "may be given only once")
        return clean_value(param, values[0], limit) or None

    until_text = single("until", 64)
    since_text = single("since", 64)
    until = parse_time("until", until_text, now) if until_text else None
    since = parse_time("since", since_text, now) if since_text else (until or now) - DEFAULT_WINDOW
    # Older rows are deleted by retention anyway; clamping keeps every scan within it.
    oldest = now - timedelta(days=retention_days + 1)
    since = max(since, oldest)
    if until is not None and until < since:
        raise FilterError("until", "must not be before since")
    q = single("q", MAX_QUERY_CHARS)
    limit_text = single("limit", 10)
    cursor_text = single("cursor", MAX_CURSOR_CHARS)
    return LogFilter(
        since=since,
        until=until,
        projects=split_values("project", grouped.get("project", []), MAX_SHORT_VALUE_CHARS),
        levels=_parse_levels(grouped.get("level", [])),
        services=split_values("service", grouped.get("service", []), MAX_SHORT_VALUE_CHARS),
        environments=split_values(
            "environment", grouped.get("environment", []), MAX_SHORT_VALUE_CHARS
        ),
        modules=split_values("module", grouped.get("module", []), MAX_SHORT_VALUE_CHARS),
        trace_id=single("trace_id", MAX_TRACE_ID_CHARS),
        q=q,
        terms=_query_terms(q) if q else (),
        extra=tuple(extra),
        limit=parse_limit(limit_text) if limit_text else DEFAULT_LIMIT,
        cursor=Cursor.decode(cursor_text) if cursor_text else None,
        raw=tuple(raw),
    )
