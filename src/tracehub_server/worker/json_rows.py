"""Validated entries forwarded to PostgreSQL as JSON: the digest's usual path.

Converting every entry to a Python tuple for COPY was about a third of the worker's CPU.
Here each batch's entries are dumped once with orjson (a C call) and PostgreSQL expands
them (``json_to_recordset``, see :func:`~tracehub_server.storage.logs.insert_entries_json`).
Python still looks at each entry, but only to read its level, timestamp and ids: the
errors (to fingerprint them) and replaced-timestamp entries (to deduplicate retries) are
converted by :mod:`.rows` as before, and the UTC days the rows need are collected.

:func:`prepare_json` accepts only entries in the form the API writes. Anything else -- an
unknown level, a timestamp without an offset, a NUL, a value orjson cannot dump -- returns
None and the digest takes the general path, which repairs or counts each oddity exactly as
before. A value only PostgreSQL refuses (a malformed date, an integer out of range) makes
the insert raise :class:`asyncpg.DataError`, and the digest falls back the same way.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

import orjson

from tracehub_server.queue.messages import IngestBatch
from tracehub_server.storage.issues import ERROR_LEVELS
from tracehub_server.storage.partitions import day_of
from tracehub_server.worker.rows import LEVEL, Prepared, Times, group, to_row

_QUIET_LEVELS = frozenset({"DEBUG", "INFO", "WARN"})
#: Suffix of a timestamp the API wrote for a UTC time: its first ten characters are the day.
_UTC_SUFFIX = "+00:00"


class JsonPrepared:
    """Batches as ``(project_id, JSON array)`` plus the entries Python must convert.

    ``special`` holds the rows of error and replaced-timestamp entries (with their issue
    candidates, as :func:`~tracehub_server.worker.rows.prepare` builds them);
    ``positions[i]`` is where ``special.rows[i]`` sits: (batch, entry), counted from 1.
    """

    __slots__ = ("batches", "count", "days", "positions", "special")

    def __init__(self) -> None:
        self.batches: list[tuple[int, str]] = []
        self.special = Prepared()
        self.positions: list[tuple[int, int]] = []
        self.days: set[date] = set()
        self.count = 0


def _explicit_offset(text: str, times: Times) -> datetime | None:
    """The time of ``text`` if it carries its own UTC offset (PostgreSQL would otherwise
    read a naive time in the session's zone, not UTC as the general path does)."""
    parsed = times.parse(text)
    if parsed is None:
        return None
    try:
        naive = datetime.fromisoformat(text).tzinfo is None
    except ValueError:  # parsed only after the general path's "Z" repair
        return None
    return None if naive else parsed


class _Days:
    """UTC days of the API's timestamp strings; None for one it did not write."""

    def __init__(self, times: Times) -> None:
        self._times = times
        self._by_prefix: dict[str, date | None] = {}
        self._other: dict[str, date | None] = {}

    def of(self, text: str) -> date | None:
        if text.endswith(_UTC_SUFFIX):
            prefix = text[:10]
            day = self._by_prefix.get(prefix, _MISSING)
            if day is _MISSING:
                day = self._by_prefix[prefix] = self._parse_day(prefix)
            return day
        day = self._other.get(text, _MISSING)
        if day is _MISSING:
            parsed = _explicit_offset(text, self._times)
            day = self._other[text] = None if parsed is None else day_of(parsed)
        return day

    @staticmethod
    def _parse_day(prefix: str) -> date | None:
        try:
            return date.fromisoformat(prefix)
        except ValueError:
            return None


_MISSING: Any = object()


def _checked_received(value: Any, seen: dict[Any, bool], times: Times) -> bool:
    """True for a ``received_at`` the database reads as the general path does."""
    ok = seen.get(value)
    if ok is None:
        if value is None:
            ok = True
        elif type(value) is not str:
            ok = False
        else:
            ok = _explicit_offset(value, times) is not None
        seen[value] = ok
    return ok


def prepare_json(batches: Sequence[IngestBatch], now: datetime) -> JsonPrepared | None:
    """The batches ready for :func:`~tracehub_server.storage.logs.insert_entries_json`,
    or None when an entry needs the general path (see the module docstring)."""
    out = JsonPrepared()
    special = out.special
    times = Times()
    days = _Days(times)
    received: dict[Any, bool] = {}
    for batch in batches:
        entries = batch.entries
        if not entries:
            continue
        try:
            text = orjson.dumps(entries)
        except (TypeError, orjson.JSONEncodeError):
            return None
        if b"\\u0000" in text:  # text and jsonb cannot hold NUL: the general path replaces it
            return None
        out.batches.append((batch.project_id, text.decode()))
        position = len(out.batches)
        for index, entry in enumerate(entries, 1):
            if type(entry) is not dict:
                return None
            get = entry.get
            timestamp = get("timestamp")
            event_id = get("event_id")
            if (
                type(timestamp) is not str
                or type(event_id) is not str
                or len(event_id) != 32
                or not _checked_received(get("received_at"), received, times)
            ):
                return None
            day = days.of(timestamp)
            if day is None:
                return None
            out.days.add(day)
            level = get("level")
            if level in _QUIET_LEVELS and get("original_timestamp") is None:
                continue
            if level not in _QUIET_LEVELS and level not in ERROR_LEVELS:
                return None
            row = to_row(batch.project_id, entry, now, times)
            if row is None:
                return None
            if row[LEVEL] in ERROR_LEVELS:
                group(special, len(special.rows), row)
            special.rows.append(row)
            out.positions.append((position, index))
        out.count += len(entries)
    return out
