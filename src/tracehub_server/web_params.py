"""HTTP query parameters -> validated filters, for the JSON API and the dashboard alike.

:func:`parse_log_filter` and :func:`parse_issue_filter` turn a request's query parameters
into the value objects :mod:`tracehub_server.storage` queries with, or raise
:class:`~tracehub_server.storage.log_filters.FilterError` naming the bad parameter (the API
answers 422 with it). Nothing here touches a database, and storage knows nothing of HTTP:
``project`` stays as given (an id or a name) for the caller to resolve against the user's
rights.

Every filter is bounded: the time range always has a lower bound (``since`` defaults to 24
hours ago and is clamped to the retention window), so a query only reads the newest daily
partitions, and every text value has a length cap.

Cursors are authenticated here, at the edge: storage encodes a page's position
(:class:`~tracehub_server.storage.log_filters.Cursor`,
:func:`~tracehub_server.storage.issue_queries.encode_issue_cursor`) and :func:`sign_cursor`
appends an HMAC keyed by the server secret, which the parsers check before decoding anything.
A forged or altered cursor is therefore refused as a whole (422 naming ``cursor``), whatever
it holds; storage still bounds what it decodes, as a second line.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta, timezone
from typing import Any, Protocol

import orjson

from tracehub.entry import LEVEL_NAMES
from tracehub_server.storage.issue_queries import (
    ISSUE_SORTS,
    ISSUE_STATUSES,
    IssueFilter,
    decode_issue_cursor,
)
from tracehub_server.storage.log_filters import (
    DEFAULT_LIMIT,
    DEFAULT_RETENTION_DAYS,
    DEFAULT_WINDOW,
    LEVELS,
    MAX_CURSOR_CHARS,
    MAX_EXTRA_DEPTH,
    MAX_EXTRA_FILTERS,
    MAX_EXTRA_KEY_CHARS,
    MAX_EXTRA_VALUE_CHARS,
    MAX_LIMIT,
    MAX_QUERY_CHARS,
    MAX_QUERY_TERMS,
    MAX_REPEATS,
    MAX_SHORT_VALUE_CHARS,
    MAX_TRACE_ID_CHARS,
    Cursor,
    ExtraFilter,
    FilterError,
    LogFilter,
)

_RELATIVE = re.compile(r"^(\d{1,6})(s|m|h|d|w)$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
_MAX_RELATIVE = timedelta(days=3650)
#: What a cursor is for, in its MAC: a logs cursor is never accepted as an issues cursor.
LOG_CURSOR = "logs-cursor"
ISSUE_CURSOR = "issues-cursor"
#: Bytes of HMAC-SHA256 kept in a cursor (128 bits: forging one means guessing them).
_CURSOR_MAC_BYTES = 16


class _MultiParams(Protocol):
    def multi_items(self) -> list[tuple[str, str]]: ...


Params = _MultiParams | Mapping[str, "str | Sequence[str]"] | Iterable[tuple[str, str]]


def param_items(params: Params) -> list[tuple[str, str]]:
    """``(name, value)`` pairs of any parameter container, repeats kept."""
    if hasattr(params, "multi_items"):
        return list(params.multi_items())
    if isinstance(params, Mapping):
        out: list[tuple[str, str]] = []
        for key, value in params.items():
            if isinstance(value, str):
                out.append((key, value))
            else:
                out.extend((key, v) for v in value)
        return out
    return list(params)


def _cursor_mac(key: bytes, purpose: str, body: str) -> str:
    digest = hmac.new(key, f"{purpose}|{body}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:_CURSOR_MAC_BYTES]).decode().rstrip("=")


def sign_cursor(key: bytes, purpose: str, cursor: str | None) -> str | None:
    """Storage's cursor with its MAC appended (``<cursor>.<mac>``); None stays None."""
    if cursor is None:
        return None
    return f"{cursor}.{_cursor_mac(key, purpose, cursor)}"


def open_cursor(key: bytes | None, purpose: str, text: str) -> str:
    """The cursor :func:`sign_cursor` signed, or FilterError('cursor') when not ours.

    Without a key (a caller that takes no cursors, such as an alert rule) every cursor is
    refused: a cursor is only ever trusted after its MAC is checked.
    """
    body, _, mac = text.rpartition(".")
    if (
        key is None
        or not text.isascii()  # ours are base64url and a dot; this also spares encode() errors
        or not body
        or not hmac.compare_digest(mac.encode(), _cursor_mac(key, purpose, body).encode())
    ):
        raise FilterError("cursor", "is not a cursor returned by this API")
    return body


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
        level = LEVEL_NAMES.get(value.upper())
        if level is None:
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
    if not (value.isascii() and value.isdigit()):  # "²".isdigit() is True, int("²") fails
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
    cursor_key: bytes | None = None,
) -> LogFilter:
    """Validate explorer parameters; raises :class:`FilterError` naming the first bad one.

    Accepted: ``project``, ``level`` (repeated or comma-separated), ``service``,
    ``environment``, ``module``, ``trace_id``, ``since``, ``until``, ``q``,
    ``extra.<key>[.<key>...]``, ``limit`` and ``cursor`` (checked with ``cursor_key``, see
    :func:`open_cursor`). Unknown parameters are ignored, so pages can add their own
    (``tail=1``).
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
        cursor=Cursor.decode(open_cursor(cursor_key, LOG_CURSOR, cursor_text))
        if cursor_text
        else None,
        raw=tuple(raw),
    )


def _choice(param: str, values: tuple[str, ...], allowed: tuple[str, ...]) -> tuple[str, ...]:
    out = []
    for value in values:
        upper = value.upper()
        if upper not in allowed:
            raise FilterError(param, f"must be one of {', '.join(allowed)}, got {value[:40]!r}")
        out.append(upper)
    return tuple(dict.fromkeys(out))


def parse_issue_filter(params: Params, *, cursor_key: bytes | None = None) -> IssueFilter:
    """Validate issues-list parameters (``status``, ``level``, ``sort``, ``limit``, ``cursor``).

    ``cursor`` is checked with ``cursor_key`` (:func:`open_cursor`) before it is decoded.

    ``project`` is resolved by the caller, as for logs.
    """
    grouped: dict[str, list[str]] = {}
    for key, value in param_items(params):
        grouped.setdefault(key, []).append(value)

    def single(param: str, limit: int) -> str | None:
        values = grouped.get(param, [])
        if len(values) > 1:
            raise FilterError(param, "may be given only once")
        return clean_value(param, values[0], limit) or None if values else None

    statuses = split_values("status", grouped.get("status", []), 16)
    levels = split_values("level", grouped.get("level", []), 16)
    sort = single("sort", 32) or "last_seen"
    if sort not in ISSUE_SORTS:
        raise FilterError("sort", f"must be one of {', '.join(ISSUE_SORTS)}, got {sort[:40]!r}")
    limit_text = single("limit", 10)
    cursor_text = single("cursor", MAX_CURSOR_CHARS)
    return IssueFilter(
        statuses=_choice("status", statuses, ISSUE_STATUSES),
        levels=_choice("level", levels, LEVELS),
        sort=sort,
        limit=parse_limit(limit_text) if limit_text else DEFAULT_LIMIT,
        cursor=decode_issue_cursor(sort, open_cursor(cursor_key, ISSUE_CURSOR, cursor_text))
        if cursor_text
        else None,
    )
