"""Bounds on an entry's structured ``exception`` and custom ``fingerprint`` at ingest.

The wire form is :mod:`tracehub.stacktrace`'s (documented in ``docs/errors.md``). What is
stored is rebuilt here from the known keys only, each of the expected type, so no client can
store arbitrary data under ``exception``: values of another type are dropped (not the entry),
and the sizes are bounded by :mod:`tracehub.limits` -- exceptions per chain (the last ones
are kept: the raised exception is last), frames per exception (the first and last halves),
characters per text, and :data:`~tracehub.limits.MAX_EXCEPTION_BYTES` for the whole, reached
by dropping source context and variables, then frames from the middle.
"""

from __future__ import annotations

from typing import Any

import orjson

from tracehub.limits import (
    MAX_CONTEXT_LINE_CHARS,
    MAX_ERROR_MESSAGE_CHARS,
    MAX_EXCEPTION_BYTES,
    MAX_EXCEPTIONS_PER_CHAIN,
    MAX_FINGERPRINT_PART_CHARS,
    MAX_FINGERPRINT_PARTS,
    MAX_FRAMES_PER_EXCEPTION,
    MAX_SHORT_FIELD_CHARS,
    MAX_VAR_CHARS,
    MAX_VARS_PER_FRAME,
    SOURCE_CONTEXT_LINES,
)

__all__ = ["StructureError", "checked_exception", "checked_fingerprint"]

#: Characters of a frame's file name, module and function.
MAX_FRAME_FIELD_CHARS = 1_000
_SOURCES = ("__cause__", "__context__")
_CONTEXT_KEYS = ("pre_context", "context_line", "post_context", "vars")


class StructureError(ValueError):
    """``exception`` or ``fingerprint`` has the wrong outer type (the entry is rejected)."""


def _str(value: object, limit: int) -> str | None:
    if type(value) is not str:
        return None
    value = value[:limit]
    return value.replace("\x00", "\ufffd") if "\x00" in value else value


def _int(value: object) -> int | None:
    return value if type(value) is int and 0 <= value < 2**31 else None


def _lines(value: object, keep_end: bool) -> list[str] | None:
    if type(value) is not list:
        return None
    lines = value[-SOURCE_CONTEXT_LINES:] if keep_end else value[:SOURCE_CONTEXT_LINES]
    return [_str(line, MAX_CONTEXT_LINE_CHARS) or "" for line in lines]


def _vars(value: object) -> dict[str, str] | None:
    if type(value) is not dict:
        return None
    out: dict[str, str] = {}
    for name, text in list(value.items())[:MAX_VARS_PER_FRAME]:
        out[_str(name, MAX_SHORT_FIELD_CHARS) or "?"] = (
            _str(text, MAX_VAR_CHARS) or repr(text)[:MAX_VAR_CHARS]
        )
    return out


def _frame(value: object) -> dict[str, Any] | None:
    if type(value) is not dict:
        return None
    frame: dict[str, Any] = {
        "filename": _str(value.get("filename"), MAX_FRAME_FIELD_CHARS),
        "module": _str(value.get("module"), MAX_FRAME_FIELD_CHARS),
        "function": _str(value.get("function"), MAX_FRAME_FIELD_CHARS),
        "lineno": _int(value.get("lineno")),
        "in_app": value.get("in_app") is True,
    }
    if frame["filename"] is None and frame["module"] is None and frame["function"] is None:
        return None
    context_line = _str(value.get("context_line"), MAX_CONTEXT_LINE_CHARS)
    if context_line is not None:
        frame["pre_context"] = _lines(value.get("pre_context"), keep_end=True) or []
        frame["context_line"] = context_line
        frame["post_context"] = _lines(value.get("post_context"), keep_end=False) or []
    local_vars = _vars(value.get("vars"))
    if local_vars is not None:
        frame["vars"] = local_vars
    return frame


def _frames(value: object) -> list[dict[str, Any]]:
    raw = value.get("frames") if type(value) is dict else None
    if type(raw) is not list:
        return []
    if len(raw) > MAX_FRAMES_PER_EXCEPTION:
        half = MAX_FRAMES_PER_EXCEPTION // 2
        raw = raw[:half] + raw[-half:]
    return [f for f in map(_frame, raw) if f is not None]


def _mechanism(value: object, index: int, count: int) -> dict[str, Any]:
    mech = value if type(value) is dict else {}
    parent = _int(mech.get("parent_id"))
    source = mech.get("source")
    valid_source = source in _SOURCES or (
        type(source) is str and source.startswith("exceptions[") and len(source) < 24
    )
    return {
        "exception_id": index,
        "parent_id": parent if parent is not None and parent < count else None,
        "source": source if valid_source else None,
        "is_exception_group": mech.get("is_exception_group") is True,
    }


def _exception(value: object, index: int, offset: int, count: int) -> dict[str, Any] | None:
    if type(value) is not dict:
        return None
    mechanism = _mechanism(value.get("mechanism"), index, count + offset)
    parent = mechanism["parent_id"]
    mechanism["parent_id"] = None if parent is None or parent < offset else parent - offset
    return {
        "type": _str(value.get("type"), MAX_SHORT_FIELD_CHARS) or "Error",
        "module": _str(value.get("module"), MAX_SHORT_FIELD_CHARS),
        "value": _str(value.get("value"), MAX_ERROR_MESSAGE_CHARS) or "",
        "mechanism": mechanism,
        "stacktrace": {"frames": _frames(value.get("stacktrace"))},
    }


def _shrink(values: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Fit :data:`MAX_EXCEPTION_BYTES`: drop context and variables, then middle frames."""
    for value in values:
        for frame in value["stacktrace"]["frames"]:
            for key in _CONTEXT_KEYS:
                frame.pop(key, None)
    while len(orjson.dumps(values)) > MAX_EXCEPTION_BYTES:
        longest = max(values, key=lambda v: len(v["stacktrace"]["frames"]))
        frames = longest["stacktrace"]["frames"]
        if len(frames) <= 2:
            return values[-1:]
        del frames[len(frames) // 2]
    return values


def checked_exception(value: object) -> dict[str, Any] | None:
    """``exception`` as stored: ``{"values": [...]}`` rebuilt and bounded, or None."""
    if value is None:
        return None
    if type(value) is not dict:
        raise StructureError("exception must be an object with a 'values' list")
    raw = value.get("values")
    if type(raw) is not list:
        raise StructureError("exception must be an object with a 'values' list")
    offset = max(len(raw) - MAX_EXCEPTIONS_PER_CHAIN, 0)
    kept = raw[offset:]
    values = [
        exc
        for index, item in enumerate(kept)
        if (exc := _exception(item, index, offset, len(kept))) is not None
    ]
    if not values:
        return None
    if len(orjson.dumps(values)) > MAX_EXCEPTION_BYTES:
        values = _shrink(values)
    return {"values": values}


def checked_fingerprint(value: object) -> list[str] | None:
    """``fingerprint`` as stored: a non-empty list of strings, bounded; None when absent."""
    if value is None:
        return None
    if type(value) is not list or not all(type(part) is str for part in value):
        raise StructureError("fingerprint must be a list of strings")
    parts = [_str(part, MAX_FINGERPRINT_PART_CHARS) or "" for part in value]
    return parts[:MAX_FINGERPRINT_PARTS] or None
