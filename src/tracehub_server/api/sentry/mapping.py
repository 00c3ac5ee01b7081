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
item's bytes and the log's position, so a retried envelope is stored once.
"""

from __future__ import annotations

import hashlib
from typing import Any

import orjson

from tracehub.entry import ERROR, INFO, LEVEL_NAMES
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
_LOG_KEYS = frozenset(_LOG_FIELDS)


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
    return type_line({**values[-1], "module": None}) if values else ""


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


def derived_id(project_id: int, data: bytes) -> str:
    """A stable event id for what carries none: the same bytes in one project, the same id."""
    return hashlib.blake2b(data, digest_size=16, key=b"%d" % project_id).hexdigest()


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
    extra = {key: event[key] for key in EXTRA_KEYS if event.get(key) not in (None, {}, [])}
    if extra:
        entry["extra"] = extra
    return entry


def log_entries(payload: bytes, project_id: int) -> list[Any]:
    """The wire entries of a ``log`` item's ``{"items": [...]}`` (ValueError if not JSON).

    An item that is not an object is passed on as it is, for the validator to reject.
    """
    data = orjson.loads(payload)
    items = data.get("items") if type(data) is dict else None
    if type(items) is not list:
        raise ValueError('a log item must be {"items": [...]}')
    entries: list[Any] = []
    # The payload is hashed once per item (not once per log in it); each log's position
    # is added to a copy.
    payload_hash = hashlib.blake2b(payload, digest_size=16, key=b"%d" % project_id)
    for position, item in enumerate(items):
        if type(item) is not dict:
            entries.append(item)
            continue
        digest = payload_hash.copy()
        digest.update(position.to_bytes(8, "little"))
        entry: dict[str, Any] = {
            "event_id": digest.hexdigest(),
            "level": _level(item.get("level"), INFO),
            "message": item.get("body"),
            "timestamp": timestamp(item.get("timestamp")),
        }
        if item.get("trace_id"):
            entry["trace_id"] = item["trace_id"]
        attributes = item.get("attributes")
        # Each attribute is {"value": v, "type": "string"}; its value is kept.
        extra: dict[str, Any] = (
            {
                key: value["value"] if type(value) is dict and "value" in value else value
                for key, value in attributes.items()
            }
            if type(attributes) is dict
            else {}
        )
        for key in _LOG_KEYS.intersection(extra):
            value = extra.pop(key)
            # An integer thread id is stored as its decimal text: written so here, the
            # entry is in canonical form and takes the validator's C path.
            entry[_LOG_FIELDS[key]] = str(value) if type(value) is int else value
        if item.get("span_id"):
            extra["span_id"] = item["span_id"]
        if extra:
            entry["extra"] = extra
        entries.append(entry)
    return entries
