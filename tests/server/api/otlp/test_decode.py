"""Hostile protobuf bodies: the decoder answers a 4xx or maps them, never anything else.

A body reaches :func:`from_protobuf` after authentication, so whatever it holds must end in
:class:`Undecodable` (400), a :class:`Refusal` 413 (too many records), or entries the
native validation then accepts or rejects one by one -- never an exception a view would
turn into a 500.
"""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue

from tracehub_server.api.ingest import Refusal
from tracehub_server.api.intake import validate_entries
from tracehub_server.api.otlp.decode import Undecodable, from_protobuf
from tracehub_server.api.validation import EntryValidator

_NOW = datetime(2026, 1, 1, tzinfo=timezone.utc)
_VALIDATOR = EntryValidator(retention_days=30)


def _request(*attributes: tuple[str, AnyValue], body: AnyValue | None = None) -> bytes:
    request = ExportLogsServiceRequest()
    resource_logs = request.resource_logs.add()
    resource_logs.resource.attributes.add(key="service.name").value.string_value = "api"
    record = resource_logs.scope_logs.add().log_records.add(
        time_unix_nano=1_767_225_000_000_000_000, severity_number=9
    )
    record.body.CopyFrom(body or AnyValue(string_value="hello"))
    for key, value in attributes:
        record.attributes.add(key=key).value.CopyFrom(value)
    return request.SerializeToString()


def _outcome(body: bytes) -> str:
    """What the request path makes of ``body``: "400", "413" or "mapped"."""
    try:
        decoded = from_protobuf(body, 1)
    except Undecodable:
        return "400"
    except Refusal as refusal:
        return str(refusal.status)
    if decoded.entries:
        validate_entries(_VALIDATOR, decoded.entries, _NOW)
    return "mapped"


_VALID = _request(
    ("user_id", AnyValue(int_value=7)),
    ("path", AnyValue(string_value="/orders")),
    ("ratio", AnyValue(double_value=0.5)),
    ("vip", AnyValue(bool_value=True)),
)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.binary(max_size=300))
def test_any_bytes_are_a_400_or_mapped(body: bytes) -> None:
    """Arbitrary bytes end in a 400 or in mapped entries, nothing else."""
    assert _outcome(body) in ("400", "mapped")


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.data())
def test_damaged_requests_are_a_400_or_mapped(data: st.DataObject) -> None:
    """A valid request cut short, with a byte changed or with bytes inserted."""
    body = bytearray(_VALID)
    where = data.draw(st.integers(0, len(body) - 1))
    damage = data.draw(st.sampled_from(["truncate", "change", "insert"]))
    if damage == "truncate":
        del body[where:]
    elif damage == "change":
        body[where] = data.draw(st.integers(0, 255))
    else:
        body[where:where] = data.draw(st.binary(min_size=1, max_size=12))
    assert _outcome(bytes(body)) in ("400", "mapped")


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b"\x0a\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff", id="truncated-varint"),
        pytest.param(b"\x0a\xff\xff\xff\xff\x0f", id="length-beyond-body"),
        pytest.param(b"\x0a\x80\x80\x80\x80\x80\x80\x80\x80\x80\x01", id="varint-11-bytes"),
        pytest.param(b"\x0f", id="group-end-without-start"),
        pytest.param(
            _request(("bad", AnyValue(string_value="x"))).replace(b"\x0a\x01x", b"\x0a\x01\xff"),
            id="invalid-utf8-attribute",
        ),
    ],
)
def test_malformed_bodies_are_400(body: bytes) -> None:
    """Truncated or overlong varints, lengths past the end, bad tags, invalid UTF-8."""
    assert _outcome(body) == "400"


def test_a_field_with_another_wire_type_is_ignored() -> None:
    """A known field sent with another wire type is kept as an unknown field, as protobuf
    parsers do: the record is still mapped."""
    odd = _VALID + b"\x08\x05"  # field 1 (resource_logs, a message) as a varint
    decoded = from_protobuf(odd, 1)
    assert [e["message"] for e in decoded.entries] == ["hello"]


def _varint(value: int) -> bytes:
    out = bytearray()
    while value > 0x7F:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    return bytes(out) + bytes([value])


def _field(number: int, payload: bytes) -> bytes:
    """A length-delimited field."""
    return bytes([number << 3 | 2]) + _varint(len(payload)) + payload


def _body_nested(depth: int) -> bytes:
    """A request of one record whose body is a map nested ``depth`` levels."""
    value = _field(1, b"leaf")  # AnyValue.string_value
    for _ in range(depth):
        pair = _field(1, b"k") + _field(2, value)  # KeyValue
        value = _field(6, _field(1, pair))  # AnyValue.kvlist_value.values
    record = b"\x10\x09" + _field(5, value)  # severity_number INFO, body
    return _field(1, _field(2, _field(2, record)))


def test_deep_nesting_within_the_limit_is_mapped() -> None:
    """A body of maps nested 32 deep (96 messages) is read and mapped."""
    assert _outcome(_body_nested(32)) == "mapped"


def test_deep_nesting_beyond_the_limit_is_400() -> None:
    """Nesting past protobuf's depth limit is a 400, not a RecursionError or a crash."""
    assert _outcome(_body_nested(33)) == "400"
    assert _outcome(_body_nested(5000)) == "400"


def test_too_many_records_is_413() -> None:
    """More records than a native request may carry is a 413, as natively."""
    request = ExportLogsServiceRequest()
    records = request.resource_logs.add().scope_logs.add().log_records
    for _ in range(1001):
        records.add(severity_number=9).body.string_value = "x"
    assert _outcome(request.SerializeToString()) == "413"
