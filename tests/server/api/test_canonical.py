"""The canonical (msgspec) path: taken only for SDK-shaped bodies, and never decides differently.

Every body here goes through both paths: :func:`canonical_rows` either declines (None) or
returns exactly the values the general path (orjson + :class:`EntryValidator`) stores --
event ids derived for entries sent without one included. Bodies shaped as the original
SDKs (``original_sdks``) build them are among the cases.
"""

from __future__ import annotations

import gzip
import json
from datetime import datetime, timezone
from typing import Any

import orjson
import pytest
from ingest_helpers import ABSENT, sdk_entry

from original_sdks import (
    cpp_body,
    cpp_entries,
    java_body,
    java_entries,
    original_timestamp,
    python_body,
    python_entries,
)
from tracehub import TraceHubLogger
from tracehub.enricher import reset_trace_id, set_trace_id
from tracehub.entry import ENTRY_KEYS
from tracehub.limits import MAX_ENTRIES_PER_BATCH, MAX_EXTRA_BYTES
from tracehub.testing import LocalReceiver
from tracehub_server.api.body import BodyError
from tracehub_server.api.canonical import canonical_items, canonical_rows
from tracehub_server.api.event_ids import RequestEventIds
from tracehub_server.api.ingest import validate_body
from tracehub_server.api.validation import (
    MAX_EXTRA_DEPTH,
    MAX_EXTRA_KEYS,
    EntryValidator,
)

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=timezone.utc)
VALIDATOR = EntryValidator(retention_days=30)
PROJECT_ID = 7
SENT = original_timestamp(NOW)


def _entry(**fields: Any) -> dict[str, Any]:
    return sdk_entry(NOW, **{"extra": {"k": [1, {"x": None}], "f": 1.5}, **fields})


def _ids(body: bytes) -> RequestEventIds:
    return RequestEventIds(PROJECT_ID, body)


def _canonical(body: bytes, now: datetime = NOW) -> list[list[Any]] | None:
    return canonical_rows(body, now.isoformat(), *VALIDATOR.timestamp_range(now), _ids(body))


def _general(body: bytes, now: datetime = NOW) -> list[list[Any]]:
    accepted, rejected = VALIDATOR.validate(orjson.loads(body), now, event_ids=_ids(body))
    assert rejected == []
    return [[entry[key] for key in ENTRY_KEYS] for entry in accepted]


def _both(body: bytes, now: datetime = NOW) -> tuple[list[Any], list[dict[str, Any]]]:
    return validate_body(VALIDATOR, body, now, _ids(body))


def _body(entries: list[Any]) -> bytes:
    """The JSON of ``entries`` (the stdlib writes nesting orjson's encoder refuses)."""
    return json.dumps(entries, ensure_ascii=False, separators=(",", ":")).encode()


def _nested(depth: int) -> dict[str, Any]:
    value: dict[str, Any] = {}
    for _ in range(depth - 1):
        value = {"k": value}
    return value


def _keys(total: int) -> dict[str, Any]:
    """An ``extra`` of ``total`` keys in all, half of them one level down, under 16 KiB."""
    inner = {f"i{i}": 0 for i in range(total // 2)}
    return {"in": inner, **{f"o{i}": [{}] for i in range(total - len(inner) - 1)}}


CANONICAL = {
    "every field": [_entry()],
    "only the required": [{"level": "INFO", "message": "hi", "event_id": "ab" * 16}],
    "nulls and empties": [
        _entry(service="", environment=None, host=None, extra=None, timestamp=None, pid=None)
    ],
    "empty extra": [_entry(extra={})],
    "no timestamp": [_entry(timestamp=ABSENT)],
    "timestamp, seconds": [_entry(timestamp="2026-06-01T11:00:00+00:00")],
    "timestamp, micros": [_entry(timestamp="2026-06-01T11:00:00.123456+00:00")],
    "too old: receive time, original kept": [_entry(timestamp="1999-01-01T00:00:00.000+00:00")],
    "far future": [_entry(timestamp="2030-01-01T00:00:00.000+00:00")],
    "oversized extra: summary": [_entry(extra={"blob": "x" * (MAX_EXTRA_BYTES + 1)})],
    "64-bit integers": [_entry(extra={"n": -(2**63), "u": 2**64 - 1})],
    "thread name": [_entry(thread_id="ThreadPoolExecutor-0_0")],
    "thread id as a decimal string": [_entry(thread_id="140245")],
    "no event id: derived from the body": [_entry(event_id=ABSENT), _entry(event_id=ABSENT)],
    "some with, some without an event id": [_entry(), _entry(event_id=ABSENT)],
    "original Python SDK's fields": [e for e in python_entries(SENT) if "extra" not in e],
    "Java SDK (empty strings and extra)": java_entries(SENT),
    "C++ SDK (sorted keys)": orjson.loads(cpp_body(cpp_entries(SENT))),
    "extra nested to the limit": [_entry(extra=_nested(MAX_EXTRA_DEPTH))],
    "extra with as many keys as allowed": [_entry(extra=_keys(MAX_EXTRA_KEYS))],
    "extra with a key too many: summary": [_entry(extra=_keys(MAX_EXTRA_KEYS + 1))],
    "unicode": [_entry(message="héllo ✓ \U0001f600", extra={"ключ": "値"})],
    "many levels": [_entry(level=level) for level in ("DEBUG", "INFO", "WARN", "ERROR", "FATAL")],
    "empty array": [],
}

NOT_CANONICAL = {
    "lower-case level": [_entry(level="error")],
    "alias": [_entry(level="WARNING")],
    "upper-case event id": [_entry(event_id="0123456789ABCDEF0123456789ABCDEF")],
    "dashed event id": [_entry(event_id="01234567-89ab-cdef-0123-456789abcdef")],
    "integer thread id": [_entry(thread_id=140245)],
    "long thread name": [_entry(thread_id="t" * 300)],
    "thread id as bool": [_entry(thread_id=True)],
    "thread id as float": [_entry(thread_id=1.5)],
    "extra nested too deeply": [_entry(extra=_nested(MAX_EXTRA_DEPTH + 1))],
    "Z timestamp": [_entry(timestamp="2026-06-01T11:00:00Z")],
    "naive timestamp": [_entry(timestamp="2026-06-01T11:00:00")],
    "offset timestamp": [_entry(timestamp="2026-06-01T13:00:00.000+02:00")],
    "impossible date in canonical shape": [_entry(timestamp="2026-02-30T11:00:00.000+00:00")],
    "unparseable timestamp": [_entry(timestamp="yesterday")],
    "long message": [_entry(message="m" * 40_000)],
    "long trace id": [_entry(trace_id="t" * 200)],
    "long stack trace": [_entry(stack_trace="s" * 70_000)],
    "unknown key": [_entry(colour="blue")],
    "received_at from the client": [_entry(received_at="2026-06-01T11:00:00+00:00")],
    "pid as bool": [_entry(pid=True)],
    "pid as float": [_entry(pid=1.0)],
    "negative pid": [_entry(pid=-1)],
    "unsigned thread id": [_entry(thread_id=2**64 - 1)],
    "unsigned thread id, no event id": [_entry(thread_id=2**64 - 1, event_id=ABSENT)],
    "extra is a list": [_entry(extra=[1])],
    "host is a number": [_entry(host=5)],
    "missing message": [_entry(message=ABSENT)],
    "one odd entry among good ones": [_entry(), _entry(level="LOUD"), _entry()],
    "not an object": [_entry(), "text"],
}


@pytest.mark.parametrize("entries", CANONICAL.values(), ids=CANONICAL.keys())
def test_canonical_bodies_store_what_the_general_path_stores(entries: list[Any]) -> None:
    body = _body(entries)
    rows = _canonical(body)
    assert rows is not None, "an SDK-shaped body must take the canonical path"
    assert rows == _general(body)
    assert _both(body) == (rows, [])


@pytest.mark.parametrize("entries", NOT_CANONICAL.values(), ids=NOT_CANONICAL.keys())
def test_anything_else_takes_the_general_path(entries: list[Any]) -> None:
    body = _body(entries)
    assert _canonical(body) is None
    general = VALIDATOR.validate(orjson.loads(body), NOW, event_ids=_ids(body))
    assert _both(body) == general


@pytest.mark.parametrize(
    "entries",
    [*CANONICAL.values(), *NOT_CANONICAL.values()],
    ids=[*CANONICAL.keys(), *NOT_CANONICAL.keys()],
)
def test_parsed_entries_take_the_path_their_body_takes(entries: list[Any]) -> None:
    """Entries given as Python objects (a protocol's mapped entries) are converted by the
    same Struct: canonical exactly when their JSON body is, storing what the general path
    stores."""
    ids = _ids(_body(entries))
    rows = canonical_items(entries, NOW.isoformat(), *VALIDATOR.timestamp_range(NOW), ids)
    general = VALIDATOR.validate(entries, NOW, event_ids=ids)
    assert (rows is not None) == (_canonical(_body(entries)) is not None)
    if rows is not None:
        assert general[1] == []
        assert rows == [[entry[key] for key in ENTRY_KEYS] for entry in general[0]]
    both = validate_body(VALIDATOR, b"", NOW, ids, items=entries)
    assert both == ((rows, []) if rows is not None else general)


def test_parsed_entries_with_a_nul_or_a_huge_integer_take_the_general_path() -> None:
    """What a JSON body would carry as ``\\u0000`` or could not carry at all is not
    offered to the Struct."""
    for entry in (_entry(message="a\x00b"), _entry(extra={"k\x00": 1}), _entry(pid=2**70)):
        assert canonical_items([entry], NOW.isoformat(), *VALIDATOR.timestamp_range(NOW)) is None
    accepted, rejected = validate_body(VALIDATOR, b"", NOW, items=[_entry(message="a\x00b")])
    assert rejected == []
    assert accepted[0]["message"] == "a\ufffdb"


def test_what_orjson_reads_differently_takes_the_general_path() -> None:
    """msgspec keeps a >64-bit integer exact and nests deeper than orjson allows: such
    bodies go where orjson decides (a float, a 400), so both paths agree."""
    huge = b'[{"level":"INFO","message":"m","event_id":"' + b"a" * 32 + b'","extra":{"n":%s}}]'
    body = huge % b"123456789012345678901234567890"
    assert _canonical(body) is None
    accepted, _ = _both(body)
    assert accepted[0]["extra"] == {"n": 1.2345678901234568e29}

    deep = b'{"k":' * 2000 + b"1" + b"}" * 2000
    body = huge % deep
    assert _canonical(body) is None
    with pytest.raises(BodyError) as caught:
        _both(body)
    assert caught.value.status == 400


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (b"", 400),
        (b"   ", 400),
        (b"{}", 400),
        (b"42", 400),
        (b'[{"level":"INFO"', 400),
        (b'[{"level":"INFO","message":"\\ud800","event_id":"' + b"a" * 32 + b'"}]', 400),
        (b"\xef\xbb\xbf[]", 400),
        (b"[" + b",".join([orjson.dumps(_entry())] * (MAX_ENTRIES_PER_BATCH + 1)) + b"]", 413),
    ],
    ids=["empty", "blank", "object", "scalar", "truncated", "lone surrogate", "BOM", "too many"],
)
def test_malformed_bodies_get_the_general_paths_answer(body: bytes, status: int) -> None:
    assert _canonical(body) is None
    with pytest.raises(BodyError) as caught:
        _both(body)
    assert caught.value.status == status


def test_nul_escapes_are_repaired_by_the_general_path() -> None:
    """The view never offers a body with a ``\\u0000`` escape to the canonical path."""
    body = orjson.dumps([_entry(message="a\x00b", extra={"k\x00": "\x00"})])
    accepted, rejected = _both(body)
    assert rejected == []
    assert accepted[0]["message"] == "a\ufffdb"
    assert accepted[0]["extra"] == {"k\ufffd": "\ufffd"}


def test_what_the_sdk_sends_is_canonical() -> None:
    """Bodies written by the real SDK (an error with its trace, extra, a trace id) take it."""
    with LocalReceiver() as receiver:
        logger = TraceHubLogger(
            api_key="th_" + "k" * 40,
            service="svc",
            environment="prod",
            endpoint=receiver.url,
            dlq_path=None,
        )
        try:
            token = set_trace_id("4bf92f3577b34da6a3ce929d0e0e4736")
            logger.info("hello", extra={"user": 7, "tags": ["a", "b"]})
            reset_trace_id(token)
            logger.warn("careful")
            try:
                raise KeyError("missing")
            except KeyError:
                logger.error("failed", exc_info=True)
            receiver.wait_for(3)
        finally:
            logger.close(timeout=5)
        requests = receiver.requests
    now = datetime.now(timezone.utc)
    for request in requests:
        raw = request.raw_body
        body = gzip.decompress(raw) if request.headers.get("content-encoding") == "gzip" else raw
        rows = _canonical(body, now)
        assert rows is not None
        assert rows == _general(body, now)


@pytest.mark.parametrize("depth", [MAX_EXTRA_DEPTH + 1, 600, 1021])
def test_extra_nested_deeper_than_storable_is_one_rejection_on_both_paths(depth: int) -> None:
    """Nesting the parser accepts but the encoder cannot write rejects that entry, never the
    body (issue 17: it answered 500); its neighbours are kept."""
    deep = b'{"k":' * (depth - 1) + b"{}" + b"}" * (depth - 1)
    body = _body([_entry(message="ok"), _entry(extra="DEEP")]).replace(b'"DEEP"', deep)
    accepted, rejected = _both(body)
    assert [e["message"] for e in accepted] == ["ok"]
    assert rejected == [{"index": 1, "error": rejected[0]["error"]}]
    assert "nested too deeply" in rejected[0]["error"]


@pytest.mark.parametrize(
    ("entries", "write"),
    [(python_entries, python_body), (java_entries, java_body), (cpp_entries, cpp_body)],
    ids=["python", "java", "cpp"],
)
def test_original_sdk_bodies_are_accepted_whole(entries: Any, write: Any) -> None:
    """Every entry of each original SDK's body is accepted, text and thread name as sent."""
    sent = entries(SENT)
    accepted, rejected = _both(write(sent))
    assert rejected == []
    rows = [dict(zip(ENTRY_KEYS, e, strict=True)) if type(e) is list else e for e in accepted]
    assert [r["message"] for r in rows] == [e["message"] for e in sent]
    assert [r["thread_id"] for r in rows] == [e["thread_id"] for e in sent]
    assert [r["timestamp"] for r in rows] == [SENT] * len(sent)


def test_python_float_specials_are_stored_as_their_names() -> None:
    """``json.dumps`` writes NaN/Infinity, which JSON lacks: kept as strings, not a 400."""
    body = json.dumps([_entry(extra={"a": float("nan"), "b": [float("inf"), -float("inf")]})])
    accepted, rejected = _both(body.encode())
    assert rejected == []
    assert accepted[0]["extra"] == {"a": "NaN", "b": ["Infinity", "-Infinity"]}


def test_derived_event_ids_repeat_for_the_same_body_only() -> None:
    """A byte-identical body gets the same ids on both paths; another body or project not."""
    body = python_body([e for e in python_entries(SENT) if "extra" not in e])
    first = [row[0] for row in _both(body)[0]]
    assert len(set(first)) == len(first)
    assert [row[0] for row in _both(body)[0]] == first
    general = VALIDATOR.validate(orjson.loads(body), NOW, event_ids=_ids(body))[0]
    assert [e["event_id"] for e in general] == first
    other_body = body.replace(b"cache miss", b"cache hit!")
    assert not set(first) & {row[0] for row in _both(other_body)[0]}
    elsewhere = validate_body(VALIDATOR, body, NOW, RequestEventIds(PROJECT_ID + 1, body))[0]
    assert not set(first) & {row[0] for row in elsewhere}


@pytest.mark.parametrize(
    ("total", "summarised"), [(MAX_EXTRA_KEYS, False), (MAX_EXTRA_KEYS + 1, True)]
)
def test_extra_over_the_key_limit_is_summarised_on_both_paths(total: int, summarised: bool) -> None:
    """An ``extra`` holding more than MAX_EXTRA_KEYS keys (all depths) is stored as the
    oversized-extra summary plus ``_original_keys``, by the canonical and general paths alike;
    its entry and its neighbours are kept."""
    extra = _keys(total)
    assert len(orjson.dumps(extra)) < MAX_EXTRA_BYTES
    body = _body([_entry(message="ok"), _entry(extra=extra)])
    assert _canonical(body) is not None
    accepted, rejected = _both(body)
    assert rejected == []
    assert len(accepted) == 2
    assert accepted == _general(body)
    stored = accepted[1][ENTRY_KEYS.index("extra")]
    if summarised:
        assert stored["_truncated"] is True
        assert stored["_original_keys"] == total
        assert stored["_original_bytes"] == len(orjson.dumps(extra))
    else:
        assert stored == extra
