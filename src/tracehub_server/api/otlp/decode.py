"""OTLP/HTTP log requests -- protobuf or the OTLP JSON mapping -- to native wire entries.

Both decoders read one ``ExportLogsServiceRequest`` into plain Python values and hand each
record to :func:`~tracehub_server.api.otlp.mapping.wire_entry`. The JSON mapping is the
protobuf one with OTLP's exceptions: ``traceId``/``spanId`` are hex, not base64; enums are
numbers (names are accepted too); 64-bit integers may be strings; field names are
lowerCamelCase (the proto's snake_case names are accepted too, as protobuf parsers do).

A body that cannot be read as a request raises :class:`Undecodable` (400). A single record
that cannot be read (a trace id of the wrong length, a time beyond year 9999) is rejected
alone and counted in the response's ``partial_success``; the rest of the request is kept.
"""

from __future__ import annotations

import base64
import math
from dataclasses import dataclass, field
from typing import Any

import orjson
from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.logs.v1.logs_pb2 import SeverityNumber

from tracehub_server.api.event_ids import RequestEventIds
from tracehub_server.api.intake import check_count
from tracehub_server.api.otlp.mapping import RecordError, Resource, wire_entry


class Undecodable(ValueError):
    """The body is not an ``ExportLogsServiceRequest`` in the encoding it claims."""


@dataclass(slots=True)
class Decoded:
    """Wire entries, each with its record's index in the request, and unreadable records."""

    entries: list[dict[str, Any]] = field(default_factory=list)
    positions: list[int] = field(default_factory=list)
    rejected: list[tuple[int, str]] = field(default_factory=list)

    @property
    def total(self) -> int:
        return len(self.entries) + len(self.rejected)


# --- protobuf ---------------------------------------------------------------------------


def _pb_value(value: Any) -> Any:
    kind = value.WhichOneof("value")
    if kind is None:
        return None
    if kind == "array_value":
        return [_pb_value(item) for item in value.array_value.values]
    if kind == "kvlist_value":
        return _pb_attributes(value.kvlist_value.values)
    if kind == "bytes_value":
        return base64.b64encode(value.bytes_value).decode()
    return getattr(value, kind)


def _pb_attributes(pairs: Any) -> dict[str, Any]:
    out = {}
    for pair in pairs:
        value = pair.value
        # Strings and integers are nearly every attribute: a non-empty string is read in
        # one access (an unset or other kind reads as ""), a non-zero integer in two (a
        # member of the oneof that is not set reads as 0).
        text = value.string_value
        if text:
            out[pair.key] = text
        elif number := value.int_value:
            out[pair.key] = number
        else:
            out[pair.key] = _pb_value(value)
    return out


def _hex_id(raw: bytes, size: int, name: str) -> str:
    if not raw or not any(raw):
        return ""  # absent, or the all-zero "invalid" id the spec says to treat as absent
    if len(raw) != size:
        raise RecordError(f"{name} must be {size} bytes, got {len(raw)}")
    return raw.hex()


def from_protobuf(body: bytes, project_id: int) -> Decoded:
    """Decode a protobuf request; :class:`Undecodable` when it is not one."""
    request = ExportLogsServiceRequest()
    try:
        request.ParseFromString(body)
    except (DecodeError, RecursionError) as exc:
        raise Undecodable(f"body is not a protobuf ExportLogsServiceRequest: {exc}") from None
    check_count(
        sum(len(s.log_records) for r in request.resource_logs for s in r.scope_logs),
        what="log records",
    )
    decoded = Decoded()
    add_entry, add_position = decoded.entries.append, decoded.positions.append
    event_ids = RequestEventIds(project_id, body)
    flat = 0
    for resource_logs in request.resource_logs:
        resource = _pb_attributes(resource_logs.resource.attributes)
        for scope_logs in resource_logs.scope_logs:
            scope = scope_logs.scope
            context = Resource(
                resource, scope.name, scope.version, _pb_attributes(scope.attributes)
            )
            for record in scope_logs.log_records:
                payload = record.body  # the empty AnyValue when unset: no kind, None
                text = payload.string_value
                trace_id, span_id = record.trace_id, record.span_id
                try:
                    entry = wire_entry(
                        context,
                        event_ids(flat),
                        time_ns=record.time_unix_nano,
                        observed_ns=record.observed_time_unix_nano,
                        severity_number=record.severity_number,
                        severity_text=record.severity_text,
                        body=text or _pb_value(payload),
                        attributes=_pb_attributes(record.attributes),
                        trace_id=_hex_id(trace_id, 16, "trace_id") if trace_id else "",
                        span_id=_hex_id(span_id, 8, "span_id") if span_id else "",
                        event_name=record.event_name,
                    )
                except RecordError as exc:
                    decoded.rejected.append((flat, str(exc)))
                else:
                    add_entry(entry)
                    add_position(flat)
                flat += 1
    return decoded


# --- OTLP/JSON --------------------------------------------------------------------------


def _get(obj: dict[str, Any], camel: str, snake: str) -> Any:
    value = obj.get(camel)
    return obj.get(snake) if value is None else value


def _list(obj: Any, camel: str, snake: str, where: str) -> list[Any]:
    if type(obj) is not dict:
        raise Undecodable(f"{where} must be a JSON object")
    value = _get(obj, camel, snake)
    if value is None:
        return []
    if type(value) is not list:
        raise Undecodable(f"{where}.{camel} must be an array")
    return value


def _int(value: Any, name: str, *, signed: bool = False) -> int:
    if value is None:
        return 0
    if type(value) is int and (signed or value >= 0):
        return value
    if type(value) is str and len(value) <= 21:
        digits = value[1:] if signed and value[:1] == "-" else value
        if digits.isascii() and digits.isdigit():
            return int(value)
    raise RecordError(f"{name} must be an integer (or its decimal string), got {value!r:.40}")


_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1


def _double(value: Any) -> float:
    if type(value) in (int, float):
        return float(value)
    if value in ("NaN", "Infinity", "-Infinity"):
        return math.nan if value == "NaN" else float(value.replace("Infinity", "inf"))
    raise RecordError(f"doubleValue must be a number, got {value!r:.40}")


def _json_value(value: Any) -> Any:
    if type(value) is not dict:
        raise RecordError("an AnyValue must be a JSON object")
    for key, inner in value.items():
        if key in ("stringValue", "string_value"):
            if type(inner) is not str:
                raise RecordError("stringValue must be a string")
            return inner
        if key in ("boolValue", "bool_value"):
            if type(inner) is not bool:
                raise RecordError("boolValue must be true or false")
            return inner
        if key in ("intValue", "int_value"):
            value = _int(inner, "intValue", signed=True)
            if not _INT64_MIN <= value <= _INT64_MAX:  # the JSON may write any size
                raise RecordError(f"intValue must be a 64-bit integer, got {value}")
            return value
        if key in ("doubleValue", "double_value"):
            return _double(inner)
        if key in ("arrayValue", "array_value"):
            return [_json_value(item) for item in _list(inner, "values", "values", key)]
        if key in ("kvlistValue", "kvlist_value"):
            return _json_attributes(_list(inner, "values", "values", key))
        if key in ("bytesValue", "bytes_value"):
            if type(inner) is not str:
                raise RecordError("bytesValue must be a base64 string")
            return inner
    return None


def _json_attributes(pairs: Any) -> dict[str, Any]:
    if type(pairs) is not list:
        raise RecordError("attributes must be an array of {key, value}")
    out: dict[str, Any] = {}
    for pair in pairs:
        if type(pair) is not dict or type(pair.get("key")) is not str:
            raise RecordError("an attribute must be an object with a string key")
        value = pair.get("value")
        out[pair["key"]] = None if value is None else _json_value(value)
    return out


def _json_hex(value: Any, size: int, name: str) -> str:
    if value is None or value == "":
        return ""
    if type(value) is not str or len(value) != size * 2:
        raise RecordError(f"{name} must be {size * 2} hexadecimal digits")
    try:
        raw = bytes.fromhex(value)
    except ValueError:
        raise RecordError(f"{name} must be {size * 2} hexadecimal digits") from None
    return raw.hex() if any(raw) else ""


def _severity(value: Any) -> int:
    if type(value) is str and value.startswith("SEVERITY_NUMBER_"):
        try:
            return int(SeverityNumber.Value(value))
        except ValueError:
            raise RecordError(f"unknown severityNumber {value[:40]!r}") from None
    return _int(value, "severityNumber")


def _text(value: Any, name: str) -> str:
    if value is None:
        return ""
    if type(value) is not str:
        raise RecordError(f"{name} must be a string")
    return value


def _json_record(context: Resource, event_id: str, record: Any) -> dict[str, Any]:
    if type(record) is not dict:
        raise RecordError("a log record must be a JSON object")
    body = _get(record, "body", "body")
    return wire_entry(
        context,
        event_id,
        time_ns=_int(_get(record, "timeUnixNano", "time_unix_nano"), "timeUnixNano"),
        observed_ns=_int(
            _get(record, "observedTimeUnixNano", "observed_time_unix_nano"), "observedTimeUnixNano"
        ),
        severity_number=_severity(_get(record, "severityNumber", "severity_number")),
        severity_text=_text(_get(record, "severityText", "severity_text"), "severityText"),
        body=None if body is None else _json_value(body),
        attributes=_json_attributes(record.get("attributes") or []),
        trace_id=_json_hex(_get(record, "traceId", "trace_id"), 16, "traceId"),
        span_id=_json_hex(_get(record, "spanId", "span_id"), 8, "spanId"),
        event_name=_text(_get(record, "eventName", "event_name"), "eventName"),
    )


def _json_scope(scope: Any) -> tuple[str, str, dict[str, Any]]:
    if scope is None:
        return "", "", {}
    if type(scope) is not dict:
        raise Undecodable("scope must be a JSON object")
    try:
        return (
            _text(scope.get("name"), "scope.name"),
            _text(scope.get("version"), "scope.version"),
            _json_attributes(scope.get("attributes") or []),
        )
    except RecordError as exc:
        raise Undecodable(f"scope: {exc}") from None


def _json_resource(resource: Any) -> dict[str, Any]:
    if resource is None:
        return {}
    if type(resource) is not dict:
        raise Undecodable("resource must be a JSON object")
    try:
        return _json_attributes(resource.get("attributes") or [])
    except RecordError as exc:
        raise Undecodable(f"resource: {exc}") from None


def from_json(body: bytes, project_id: int) -> Decoded:
    """Decode an OTLP/JSON request; :class:`Undecodable` when it is not one."""
    try:
        request = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise Undecodable(f"body is not valid JSON: {exc}") from None
    resource_logs = _list(request, "resourceLogs", "resource_logs", "request")
    groups = []
    for item in resource_logs:
        for scope_logs in _list(item, "scopeLogs", "scope_logs", "resourceLogs"):
            records = _list(scope_logs, "logRecords", "log_records", "scopeLogs")
            groups.append((item, scope_logs, records))
    check_count(sum(len(group[2]) for group in groups), what="log records")
    decoded = Decoded()
    event_ids = RequestEventIds(project_id, body)
    flat = 0
    for item, scope_logs, records in groups:
        context = Resource(
            _json_resource(item.get("resource")), *_json_scope(scope_logs.get("scope"))
        )
        for record in records:
            try:
                entry = _json_record(context, event_ids(flat), record)
            except RecursionError:
                decoded.rejected.append((flat, "a value is nested too deeply"))
            except RecordError as exc:
                decoded.rejected.append((flat, str(exc)))
            else:
                decoded.entries.append(entry)
                decoded.positions.append(flat)
            flat += 1
    return decoded
