"""Structured ``exception`` and ``fingerprint`` at ingest: accepted, bounded, both paths alike."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import orjson
import pytest
from ingest_helpers import sdk_entry

from tracehub.entry import ENTRY_KEYS
from tracehub.limits import (
    MAX_EXCEPTION_BYTES,
    MAX_EXCEPTIONS_PER_CHAIN,
    MAX_FINGERPRINT_PARTS,
    MAX_FRAMES_PER_EXCEPTION,
)
from tracehub.stacktrace import StackCapture
from tracehub_server.api.canonical import canonical_rows
from tracehub_server.api.validation import EntryValidator

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=timezone.utc)
VALIDATOR = EntryValidator(retention_days=30)


def _values() -> list[dict[str, Any]]:
    try:
        try:
            {}["k"]
        except KeyError as exc:
            raise ValueError("checkout failed") from exc
    except ValueError as exc:
        values, _ = StackCapture().capture(exc)
    return values


def _frame(n: int) -> dict[str, Any]:
    return {"filename": f"app/m{n}.py", "function": f"f{n}", "lineno": n, "in_app": True}


def _both(entry: dict[str, Any]) -> tuple[dict[str, Any], list[Any] | None]:
    body = orjson.dumps([entry])
    accepted, rejected = VALIDATOR.validate(orjson.loads(body), NOW)
    assert rejected == []
    rows = canonical_rows(body, NOW.isoformat(), *VALIDATOR.timestamp_range(NOW))
    return accepted[0], None if rows is None else rows[0]


def test_sdk_structure_is_kept_as_sent_on_both_paths() -> None:
    """What the SDK sends is stored unchanged, and the fast path agrees with the general one."""
    values = _values()
    entry = sdk_entry(NOW, exception={"values": values}, fingerprint=["pay", "{{ default }}"])
    general, row = _both(entry)
    assert general["exception"] == {"values": values}
    assert general["fingerprint"] == ["pay", "{{ default }}"]
    assert row is not None
    assert row == [general[key] for key in ENTRY_KEYS]


def test_entries_without_structure_are_unchanged() -> None:
    """An entry from an older SDK has null ``exception`` and ``fingerprint``."""
    general, row = _both(sdk_entry(NOW))
    assert general["exception"] is None
    assert general["fingerprint"] is None
    assert row is not None
    assert row[-2:] == [None, None]


def test_unknown_keys_and_wrong_types_inside_are_dropped() -> None:
    """Only known keys of the expected types are stored; the entry itself is accepted."""
    odd = {
        "values": [
            {
                "type": "E",
                "value": 5,
                "colour": "blue",
                "stacktrace": {"frames": [{"function": "f", "lineno": "7", "x": 1}, "junk"]},
            },
            "not an exception",
        ]
    }
    general, _ = _both(sdk_entry(NOW, exception=odd))
    [value] = general["exception"]["values"]
    assert value["value"] == ""
    assert "colour" not in value
    assert value["stacktrace"]["frames"] == [
        {"filename": None, "module": None, "function": "f", "lineno": None, "in_app": False}
    ]


@pytest.mark.parametrize(
    ("field", "value", "error"),
    [
        ("exception", [1], "exception must be an object"),
        ("exception", {"values": {}}, "exception must be an object"),
        ("fingerprint", "one", "fingerprint must be a list of strings"),
        ("fingerprint", ["a", 1], "fingerprint must be a list of strings"),
    ],
)
def test_wrong_outer_types_reject_the_entry(field: str, value: Any, error: str) -> None:
    """A wrong ``exception`` or ``fingerprint`` type rejects the entry, saying why."""
    accepted, rejected = VALIDATOR.validate([sdk_entry(NOW, **{field: value})], NOW)
    assert accepted == []
    assert error in rejected[0]["error"]


def test_bounds() -> None:
    """Exceptions per chain, frames per exception, fingerprint parts and bytes are bounded."""
    chain = [
        {"type": f"E{i}", "value": "v", "stacktrace": {"frames": [_frame(n) for n in range(300)]}}
        for i in range(MAX_EXCEPTIONS_PER_CHAIN + 5)
    ]
    general, _ = _both(sdk_entry(NOW, exception={"values": chain}, fingerprint=["p"] * 50))
    values = general["exception"]["values"]
    assert len(values) == MAX_EXCEPTIONS_PER_CHAIN
    assert values[-1]["type"] == f"E{MAX_EXCEPTIONS_PER_CHAIN + 4}"
    assert all(len(v["stacktrace"]["frames"]) <= MAX_FRAMES_PER_EXCEPTION for v in values)
    assert len(orjson.dumps(values)) <= MAX_EXCEPTION_BYTES
    assert len(general["fingerprint"]) == MAX_FINGERPRINT_PARTS
    first = values[-1]["stacktrace"]["frames"]
    assert first[0]["function"] == "f0"
    assert first[-1]["function"] == "f299"
