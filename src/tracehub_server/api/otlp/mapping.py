"""OTLP log records to native wire entries: the one place the mapping is decided.

The decoders of :mod:`tracehub_server.api.otlp.decode` turn protobuf and OTLP/JSON into
plain Python values and call :func:`wire_entry` per record, so both encodings map alike.
The result is a dict in the shape ``POST /api/v1/ingest`` accepts -- nothing is validated
or truncated here; the native validator does that.

The table (``docs/ingest/opentelemetry.md`` shows it to users):

========================================  ==================================================
OTLP                                      wire entry
========================================  ==================================================
``severity_number`` 1-8 / 9-12 / 13-16 /  ``level`` DEBUG / INFO / WARN / ERROR / FATAL
17-20 / 21-24 (0: ``severity_text``,
else INFO)
``body`` (a string, else its JSON)        ``message``
``time_unix_nano`` else                   ``timestamp`` (neither: receive time)
``observed_time_unix_nano``
``trace_id`` (hex)                        ``trace_id``; ``span_id`` -> ``extra.span_id``
resource ``service.name``                 ``service``
resource ``deployment.environment.name``  ``environment``
(or ``deployment.environment``)
resource ``host.name``                    ``host``
resource ``process.pid``                  ``pid``
``thread.id``                             ``thread_id`` (``thread.name`` stays in extra)
``code.namespace``, else the scope name,  ``module``
else ``code.file.path``
``exception.type`` / ``.message`` /       ``error_type`` / ``error_message`` /
``.stacktrace``                           ``stack_trace``
every other resource, scope and record    ``extra`` (record over scope over resource),
attribute; scope name and version         with ``otel.scope.name``/``otel.scope.version``
========================================  ==================================================

The event id is derived, not random (:mod:`tracehub_server.api.event_ids`, as for a native
body without ids): OTLP records carry none, and an exporter retries a whole request after a
429/503 or a lost response, byte for byte. The decompressed body and the record's position
in it give a retried record the id it had, so the digest stores it once, while two
identical records in one request (same text, same nanosecond) still differ by position.
"""

from __future__ import annotations

from typing import Any

import orjson

from tracehub.entry import DEBUG, ERROR, FATAL, INFO, LEVEL_NAMES, WARN
from tracehub_server.api.wire_time import TimeRangeError, iso_from_nanos

#: (severity_number - 1) // 4 for 1..24 (TRACE..FATAL4) -> level.
_BY_SEVERITY = (DEBUG, DEBUG, INFO, WARN, ERROR, FATAL)
#: The level of each severity number 0..24 (0, unspecified, is decided by the text).
_LEVEL_BY_NUMBER = ("", *(_BY_SEVERITY[(n - 1) // 4] for n in range(1, 25)))
#: Resource attributes that become entry fields (and leave ``extra``).
_RESOURCE_FIELDS = {
    "service.name": "service",
    "deployment.environment.name": "environment",
    "deployment.environment": "environment",
    "host.name": "host",
    "process.pid": "pid",
}
#: Record attributes that become entry fields.
_RECORD_FIELDS = {
    "exception.type": "error_type",
    "exception.message": "error_message",
    "exception.stacktrace": "stack_trace",
    "thread.id": "thread_id",
}
_RECORD_ITEMS = tuple(_RECORD_FIELDS.items())
_FILE_KEYS = ("code.file.path", "code.filepath")


class RecordError(ValueError):
    """One record cannot be read; it is rejected (counted in ``partial_success``)."""


class Resource:
    """What a resource and a scope give every record under them, computed once per scope."""

    __slots__ = ("extra", "fields", "module")

    def __init__(
        self,
        resource: dict[str, Any],
        scope_name: str,
        scope_version: str,
        scope_attributes: dict[str, Any],
    ) -> None:
        self.fields: dict[str, Any] = {}
        extra: dict[str, Any] = {}
        for key, value in resource.items():
            field = _RESOURCE_FIELDS.get(key)
            if field is None:
                extra[key] = value
            elif field not in self.fields or key == "deployment.environment.name":
                self.fields[field] = _field_value(field, value)
        extra.update(scope_attributes)
        if scope_name:
            extra["otel.scope.name"] = scope_name
        if scope_version:
            extra["otel.scope.version"] = scope_version
        self.extra = extra
        self.module = scope_name or None


def _field_value(field: str, value: Any) -> Any:
    # pid is an integer natively; a string attribute stays a string (the validator then
    # says what is wrong with it rather than this module guessing). A thread id is stored
    # as text: an integer ident (or its digits) is written as its decimal text here, as the
    # validator would, so the entry is in canonical form and takes the C path.
    if field == "thread_id":
        if type(value) is str and value.isascii() and value.isdigit():
            return str(int(value))
        return str(value) if type(value) is int else value
    if field == "pid":
        return int(value) if type(value) is str and value.isascii() and value.isdigit() else value
    return value if type(value) is str else render(value)


def render(value: Any) -> str:
    """A non-string attribute or body as text (JSON for structures)."""
    if type(value) is str:
        return value
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()


def level(severity_number: int, severity_text: str) -> str:
    """The level of a severity number (ranges of four), else of its text, else INFO."""
    if 1 <= severity_number <= 24:
        return _BY_SEVERITY[(severity_number - 1) // 4]
    return LEVEL_NAMES.get(severity_text.upper(), INFO) if severity_text else INFO


def timestamp(nanos: int) -> str:
    """ISO 8601 UTC with microseconds; :class:`RecordError` beyond year 9999."""
    try:
        return iso_from_nanos(nanos)
    except TimeRangeError:
        raise RecordError(f"time_unix_nano {nanos} is not a representable time") from None


def wire_entry(
    resource: Resource,
    event_id: str,
    *,
    time_ns: int,
    observed_ns: int,
    severity_number: int,
    severity_text: str,
    body: Any,
    attributes: dict[str, Any],
    trace_id: str,
    span_id: str,
    event_name: str,
) -> dict[str, Any]:
    """The wire entry of one record, ``event_id`` its derived id.

    ``attributes`` must be a dict built for this record: it may become the entry's ``extra``.
    """
    if type(body) is not str:
        body = "" if body is None else render(body)
    entry: dict[str, Any] = {
        "event_id": event_id,
        "level": _LEVEL_BY_NUMBER[severity_number]
        if 0 < severity_number < 25
        else level(severity_number, severity_text),
        "message": body,
        **resource.fields,
    }
    nanos = time_ns or observed_ns
    if nanos:
        entry["timestamp"] = timestamp(nanos)
    # ``attributes`` is the decoder's own dict, built for this record: it may be extended.
    extra = {**resource.extra, **attributes} if resource.extra else attributes
    for key, field in _RECORD_ITEMS:
        if key in attributes:
            value = extra.pop(key)
            if type(value) is not str or field == "thread_id":
                value = _field_value(field, value)
            entry[field] = value
    namespace = attributes.get("code.namespace")
    if type(namespace) is str:
        entry["module"] = namespace
    elif resource.module is not None:
        entry["module"] = resource.module
    else:
        module = next((attributes[k] for k in _FILE_KEYS if type(attributes.get(k)) is str), None)
        if module is not None:
            entry["module"] = module
    if trace_id:
        entry["trace_id"] = trace_id
    if span_id:
        extra["span_id"] = span_id
    if event_name:
        extra["event.name"] = event_name
    if extra:
        entry["extra"] = extra
    return entry
