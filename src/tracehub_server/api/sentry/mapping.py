"""Sentry events and log items to native wire entries: the one place the mapping is decided.

The result is a dict in the shape ``POST /api/v1/ingest`` accepts; nothing is validated or
truncated here (a value of the wrong type is passed on, and the native validator says what
is wrong with it). The table (``docs/ingest/sentry.md`` shows it to users):

=====================================  ==========================================================
Sentry event                           wire entry
=====================================  ==========================================================
``event_id``                           ``event_id`` (a retried event is stored once)
``level`` fatal/error/warning/info/    ``level`` FATAL/ERROR/WARN/INFO/DEBUG (absent: ERROR, as
debug                                  Sentry defaults)
``logentry.formatted`` / ``.message``  ``message``; with neither, the exception's ``Type: value``
/ ``message``
``exception.values`` (causes first)    ``error_type``, ``error_message`` (the last value),
                                       ``stack_trace`` (the text its ``platform`` prints) and
                                       ``exception`` (the frames, without ``vars``)
``timestamp``                          ``timestamp``
``server_name``                        ``host``
``environment``                        ``environment``
``logger``                             ``module``
``contexts.trace.trace_id``            ``trace_id``
``sdk.name``/``sdk.version``           ``sdk_version``
``tags.service``                       ``service``
``fingerprint``                        ``fingerprint`` (``{{ default }}``: the default grouping)
``tags``, ``extra``, ``contexts``,     ``extra``, each under its own key
``user``, ``request``, ``platform``,
``release``, ``dist``, ``transaction``
=====================================  ==========================================================

Dropped: ``breadcrumbs``, ``modules``, ``debug_meta``, ``threads``, ``spans`` and frame
``vars`` -- large (or personal), and not what an error tracker groups or searches on. Log
items (``sentry_sdk.logger``) map ``level``, ``body``, ``timestamp``, ``trace_id``; their
attributes ``sentry.environment`` -> ``environment``, ``server.address`` -> ``host``,
``logger.name`` -> ``module``, ``thread.id`` -> ``thread_id``, the others (with ``span_id``)
-> ``extra``. Log items carry no id: theirs is derived from the project, the
item's bytes and the log's position (:mod:`tracehub_server.api.event_ids`), so a retried
envelope is stored once.
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
import orjson

from tracehub.entry import ERROR, INFO, LEVEL_NAMES
from tracehub_server.api.event_ids import RequestEventIds
from tracehub_server.api.sentry.stacktrace import exception_values, render, structured, type_line
from tracehub_server.api.wire_time import TimeRangeError, iso_from_seconds

#: Sentry's level names (lower case) -> levels: the entry's names, and Sentry's ``log``.
_LEVELS = {**{name.lower(): level for name, level in LEVEL_NAMES.items()}, "log": INFO}
#: Event keys kept whole in ``extra``.
EXTRA_KEYS = (
    "tags", "extra", "contexts", "user", "request", "platform", "release", "dist", "transaction"
)  # fmt: skip
#: Log attributes that become entry fields.
_LOG_FIELDS = {
    "sentry.environment": "environment",
    "server.address": "host",
    "logger.name": "module",
    "thread.id": "thread_id",
}
_LOG_FIELD_ITEMS = tuple(_LOG_FIELDS.items())


def _level(value: Any, default: str) -> str:
    if type(value) is not str:
        return default
    return _LEVELS.get(value) or _LEVELS.get(value.lower(), default)


def timestamp(value: Any) -> Any:
    """An ISO 8601 string as sent; seconds since the epoch converted (else left to refuse)."""
    if type(value) is float or type(value) is int:
        try:
            return iso_from_seconds(value)
        except TimeRangeError:
            return str(value)  # the validator rejects it with its own message
    return value


def _message(event: dict[str, Any], values: list[dict[str, Any]]) -> str:
    logentry = event.get("logentry")
    message = event.get("message")
    for source in (logentry, message):
        if type(source) is dict:
            text = source.get("formatted") or source.get("message")
            if type(text) is str and text:
                return text
        elif type(source) is str and source:
            return source
    return type_line(values[-1], qualified=False) if values else ""


def _tag(event: dict[str, Any], name: str) -> Any:
    tags = event.get("tags")
    if type(tags) is dict:
        return tags.get(name)
    if type(tags) is list:  # [[key, value], ...] in some SDKs
        return next((pair[1] for pair in tags if type(pair) is list and pair[:1] == [name]), None)
    return None


def _sdk_version(sdk: Any) -> str | None:
    if type(sdk) is not dict or type(sdk.get("name")) is not str:
        return None
    version = sdk.get("version")
    return f"{sdk['name']}/{version}" if type(version) is str else sdk["name"]


def event_entry(event: dict[str, Any], *, fallback_id: str) -> dict[str, Any]:
    """The wire entry of one event (``fallback_id`` when it has no ``event_id``)."""
    values = exception_values(event)
    entry: dict[str, Any] = {
        "event_id": event.get("event_id") or fallback_id,
        "level": _level(event.get("level"), ERROR),
        "message": _message(event, values),
        "timestamp": timestamp(event.get("timestamp")),
        "service": _tag(event, "service"),
        "environment": event.get("environment"),
        "host": event.get("server_name"),
        "module": event.get("logger"),
        "sdk_version": _sdk_version(event.get("sdk")),
    }
    contexts = event.get("contexts")
    trace = contexts.get("trace") if type(contexts) is dict else None
    if type(trace) is dict and trace.get("trace_id"):
        entry["trace_id"] = trace["trace_id"]
    if values:
        raised = values[-1]
        entry["error_type"] = raised.get("type")
        entry["error_message"] = raised.get("value")
        entry["stack_trace"] = render(values, event.get("platform")) or None
        entry["exception"] = structured(values)
    fingerprint = event.get("fingerprint")
    if type(fingerprint) is list and fingerprint:
        entry["fingerprint"] = [str(part) for part in fingerprint]
    extra = {}
    for key in EXTRA_KEYS:
        value = event.get(key)
        if value is not None and value != {} and value != []:
            extra[key] = value
    if extra:
        entry["extra"] = extra
    return entry


def log_entries(payload: bytes, project_id: int) -> list[Any]:
    """The wire entries of a ``log`` item's ``{"items": [...]}`` (ValueError if not JSON).

    An item that is not an object is passed on as it is, for the validator to reject.
    """
    try:
        logs: list[Any] = _decode_logs(payload).items
    except (msgspec.MsgspecError, RecursionError):
        logs = _read_logs(payload)
    entries: list[Any] = []
    append = entries.append
    fields = _LOG_FIELD_ITEMS
    event_ids = RequestEventIds(project_id, payload)
    for position, log in enumerate(logs):
        if type(log) is not _Log:
            append(log)
            continue
        entry: dict[str, Any] = {
            "event_id": event_ids(position),
            "level": _level(log.level, INFO),
            "message": log.body,
            "timestamp": timestamp(log.timestamp),
        }
        if log.trace_id:
            entry["trace_id"] = log.trace_id
        attributes = log.attributes
        # Each attribute is {"value": v, "type": "string"}; its value is kept.
        extra = {key: item.value for key, item in attributes.items()} if attributes else {}
        for key, field in fields:
            value = extra.pop(key, _ABSENT)
            if value is not _ABSENT:
                # An integer thread id is stored as its decimal text: written so here, the
                # entry is in canonical form and takes the validator's C path.
                entry[field] = str(value) if type(value) is int else value
        if log.span_id:
            extra["span_id"] = log.span_id
        if extra:
            entry["extra"] = extra
        append(entry)
    return entries


def _read_logs(payload: bytes) -> list[Any]:
    """A log item's logs read as plain JSON, whatever their shape: each object as a
    :class:`_Log` holding the values as sent (an attribute without ``value`` whole)."""
    data = orjson.loads(payload)
    items = data.get("items") if type(data) is dict else None
    if type(items) is not list:
        raise ValueError('a log item must be {"items": [...]}')
    logs: list[Any] = []
    for item in items:
        if type(item) is not dict:
            logs.append(item)
            continue
        attributes = item.get("attributes")
        get = item.get
        logs.append(
            _Log(
                timestamp=get("timestamp"), level=get("level"), body=get("body"),
                trace_id=get("trace_id"), span_id=get("span_id"),
                attributes={
                    key: _Attribute(
                        value["value"] if type(value) is dict and "value" in value else value
                    )
                    for key, value in attributes.items()
                } if type(attributes) is dict else None,
            )
        )  # fmt: skip
    return logs


_ABSENT: Any = object()


# -- A log item as every Sentry SDK sends it, decoded in C -----------------------------------
# A payload of exactly this shape (no other key, every value of these types) is decoded by
# msgspec into the values orjson gives, in about half the time; any other payload -- an
# unknown key, another type, an integer beyond 64 bits (orjson reads it as a float, msgspec
# as an int), invalid JSON -- is read by _read_logs (orjson), which alone says what it means.
# The Structs are only containers then: msgspec checks the types when it decodes, not when
# _read_logs builds one from what was sent.

_Int = Annotated[int, msgspec.Meta(ge=-(2**63), le=2**63 - 1)]
_Scalar = bool | _Int | float | str


class _Attribute(msgspec.Struct, forbid_unknown_fields=True, gc=False):
    value: _Scalar | list[_Scalar] | None
    type: str | None = None
    unit: str | None = None


class _Log(msgspec.Struct, forbid_unknown_fields=True, gc=False):
    timestamp: _Int | float | str | None = None
    level: str | None = None
    body: str | None = None
    trace_id: str | None = None
    span_id: str | None = None
    severity_number: _Int | None = None
    attributes: dict[str, _Attribute] | None = None


class _Logs(msgspec.Struct, forbid_unknown_fields=True, gc=False):
    items: list[_Log]


_decode_logs = msgspec.json.Decoder(_Logs).decode
