"""The log entry, defined once: its levels, their aliases and every field with its limit.

Everything that reads or writes an entry derives from this module: the SDK's serializer
(the limits it truncates to), the server's two ingest paths (the msgspec ``Struct`` of the
fast path is built from :data:`FIELDS` with ``msgspec.defstruct``, and the general path's
per-field checks walk the same table), the queue message (:data:`ENTRY_KEYS` is its value
order), the worker's rows, the OTLP and Sentry mappings (which map *into* these fields and
levels) and the wire-format reference page (its field table is generated from here).

Why a declarative table and not a ``msgspec.Struct`` here: the SDK never decodes entries,
it builds them and orjson writes them; a Struct in this module would make every
application install msgspec (a compiled dependency) for nothing it uses. The server, which
does decode, builds its Struct from this table, so the definition stays single and the
SDK keeps its two dependencies (httpx, orjson).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from tracehub.limits import (
    MAX_ERROR_MESSAGE_CHARS,
    MAX_EXCEPTION_BYTES,
    MAX_EXTRA_BYTES,
    MAX_FINGERPRINT_PARTS,
    MAX_MESSAGE_CHARS,
    MAX_SHORT_FIELD_CHARS,
    MAX_STACK_TRACE_CHARS,
    MAX_TRACE_ID_CHARS,
)

__all__ = [
    "DEBUG",
    "ENTRY_KEYS",
    "ERROR",
    "ERROR_LEVELS",
    "FATAL",
    "FIELD",
    "FIELDS",
    "INFO",
    "LEVELS",
    "LEVEL_ALIASES",
    "LEVEL_NAMES",
    "WARN",
    "WIRE_FIELDS",
    "Field",
    "limit_of",
    "normalize_level",
]

DEBUG = "DEBUG"
INFO = "INFO"
WARN = "WARN"
ERROR = "ERROR"
FATAL = "FATAL"
#: The wire levels, lowest first.
LEVELS = (DEBUG, INFO, WARN, ERROR, FATAL)
#: The levels that make an issue (an error tracker's subject), lowest first.
ERROR_LEVELS = LEVELS[LEVELS.index(ERROR) :]
#: Other names accepted for a level, any case (stdlib ``logging``'s and OpenTelemetry's).
LEVEL_ALIASES: Mapping[str, str] = MappingProxyType(
    {"WARNING": WARN, "CRITICAL": FATAL, "EXCEPTION": ERROR, "TRACE": DEBUG, "NOTSET": DEBUG}
)
#: Every accepted upper-case level name -> its level.
LEVEL_NAMES: Mapping[str, str] = MappingProxyType(
    {**{name: name for name in LEVELS}, **LEVEL_ALIASES}
)
#: The longest accepted level name: a longer text is no level (refused before any work).
MAX_LEVEL_CHARS = max(map(len, LEVEL_NAMES))

_NUMERIC = ((50, FATAL), (40, ERROR), (30, WARN), (20, INFO))


def normalize_level(level: object) -> str:
    """Map a level name or stdlib number to a wire level (unknown names become INFO)."""
    if isinstance(level, str):
        return LEVEL_NAMES.get(level.strip().upper(), INFO)
    if isinstance(level, int) and not isinstance(level, bool):
        for threshold, name in _NUMERIC:
            if level >= threshold:
                return name
        return DEBUG
    return INFO


@dataclass(frozen=True, slots=True)
class Field:
    """One field of an entry: its JSON type, its limit and what happens without it.

    ``kind`` is the JSON type: ``string``, ``integer``, ``string or integer``, ``object`` or
    ``array of strings``. ``limit`` is in ``unit``: characters for text (cut beyond it,
    ``keep_end`` keeping the tail), the largest value of an integer, bytes of an object's
    JSON, parts of an array. ``sent`` is False for the fields the server sets.
    """

    name: str
    kind: str = "string"
    limit: int | None = None
    unit: str = "chars"
    keep_end: bool = False
    required: bool = False
    default: str | None = None
    sent: bool = True
    #: When absent (the docs' wording, for a field without a plain default).
    absent: str = "null"
    #: What is stored (the docs' wording).
    stored: str = "as sent"


_SHORT = MAX_SHORT_FIELD_CHARS

#: Every field of a stored entry, in :data:`ENTRY_KEYS` order.
FIELDS = (
    Field(
        "event_id",
        absent="derived, see [Resends](#resends-and-event_id)",
        stored="a UUID: 32 hex digits, dashes and upper case allowed; stored as lower-case hex",
    ),
    Field(
        "timestamp",
        limit=64,
        absent="receive time",
        stored="ISO 8601, see [Timestamps](#timestamps)",
    ),
    Field("received_at", sent=False),
    Field("level", required=True, absent="entry rejected"),
    Field("service", limit=_SHORT, default="unknown"),
    Field("environment", limit=_SHORT, default="unknown"),
    Field(
        "message",
        limit=MAX_MESSAGE_CHARS,
        required=True,
        absent="entry rejected",
        stored='as sent (`""` allowed)',
    ),
    Field("host", limit=_SHORT),
    Field("pid", kind="integer", limit=2**31 - 1, unit="max"),
    Field(
        "thread_id",
        kind="string or integer",
        limit=_SHORT,
        stored='text: a name as sent (`"main"`, `"MainThread"`, `"140245"`), an integer as '
        "its decimal digits",
    ),
    Field("sdk_version", limit=_SHORT),
    Field("module", limit=_SHORT),
    Field("trace_id", limit=MAX_TRACE_ID_CHARS),
    Field("error_type", limit=_SHORT),
    Field("error_message", limit=MAX_ERROR_MESSAGE_CHARS),
    Field(
        "stack_trace",
        limit=MAX_STACK_TRACE_CHARS,
        keep_end=True,
        stored="as sent; the *end* is kept when cut",
    ),
    Field(
        "extra",
        kind="object",
        limit=MAX_EXTRA_BYTES,
        unit="bytes",
        stored="as sent; over a limit it is summarised (see [`extra` limits](#extra-limits))",
    ),
    Field("original_timestamp", sent=False),
    Field(
        "exception",
        kind="object",
        limit=MAX_EXCEPTION_BYTES,
        unit="bytes",
        stored="the structured chain, see [Errors](../errors.md); trimmed to fit",
    ),
    Field(
        "fingerprint",
        kind="array of strings",
        limit=MAX_FINGERPRINT_PARTS,
        unit="parts",
        stored="a custom grouping, see [Errors](../errors.md)",
    ),
)
#: The fields a client sends (all but the server's ``received_at`` and ``original_timestamp``).
WIRE_FIELDS = tuple(field for field in FIELDS if field.sent)
#: Keys of a stored entry, in the order of the queue message's value arrays and the API's
#: entry dicts (the digest converts by position).
ENTRY_KEYS = tuple(field.name for field in FIELDS)
#: Fields by name.
FIELD: Mapping[str, Field] = MappingProxyType({field.name: field for field in FIELDS})


def limit_of(name: str) -> int:
    """The limit of the field ``name`` (for code that truncates or checks it)."""
    limit = FIELD[name].limit
    if limit is None:
        raise ValueError(f"the entry field {name!r} has no limit")
    return limit
