"""Text tracebacks to the structured ``exception`` form, for clients that send only text.

The original SDKs, OTLP's ``exception.stacktrace`` and Sentry events rendered as text carry a
trace as text; this module reads Python (chained causes and contexts, exception groups,
"[Previous line repeated N more times]", async frames), Java (``Caused by:``, ``... N more``),
JavaScript (V8 and Firefox/Safari) and Go (the panicking goroutine) traces into the same
``{"values": [...]}`` shape the Python SDK sends (:mod:`tracehub.stacktrace`): exceptions in
the order Python prints them (the first cause first), frames oldest call first, each with
``filename``, ``module``, ``function``, ``lineno`` and ``in_app`` (decided as
:mod:`.frames` decides it for grouping), and for Python the printed source line as
``context_line``. It runs when a trace is shown, never at ingest: storing it would cost
every entry, and a parse of stored text works for events stored before it existed.

Frames are recognised and described by :mod:`.frames`'s helpers, but this is not the
grouping's parser and cannot become it: the grouping's readings are hashed into stored
fingerprints (``GROUPING_VERSION``) and differ from the ones wanted here. It reads an
exception group's direct members only (a nested group by its own frames), keeps Java
frames printed before any exception line (``Exception in thread "main" …``), cuts a
function name at 300 characters, and takes a chained Python exception's type from the
last line of its block shaped like ``Name:`` or ``Name`` (which may be a line of the
message). Reading traces as here would regroup those events.
"""

from __future__ import annotations

import re
from typing import Any

from tracehub_server.grouping.frames import (
    JAVA_FRAME,
    clip_trace,
    go_frame,
    go_frame_lines,
    java_frame,
    js_frame,
    js_frame_at,
    python_frame,
)

__all__ = ["member_index", "parse_exception"]

Value = dict[str, Any]

_PY_FRAME = re.compile(r'^File "(?P<path>[^"\n]{1,1000})", line (?P<line>\d+)(?:, in (?P<f>.+))?$')
_PY_REPEAT = re.compile(r"^\[Previous line repeated (?P<n>\d+) more times?\]$")
_PY_CAUSE = "The above exception was the direct cause of the following exception:"
_PY_CONTEXT = "During handling of the above exception, another exception occurred:"
_PY_HEADERS = ("Traceback (most recent call last):", "Exception Group Traceback (most recent")
_PY_EXC = re.compile(r"^(?P<type>[A-Za-z_][\w.]{0,200})(?:: (?P<value>.*))?$")
_GROUP_END = re.compile(r"^\+-{20,}$")
_CARETS = re.compile(r"^[\s~^]+$")
_JAVA_HEAD = re.compile(r"^(?:Caused by: )?(?P<type>[\w$.]{1,300}?)(?:: (?P<value>.*))?$")
_JAVA_MORE = re.compile(r"^\s*\.\.\. (?P<n>\d+) more$")
_JAVA_SRC = re.compile(r"^(?P<file>[^:)]+)(?::(?P<line>\d+))?$")
_JS_HEAD = re.compile(r"^(?P<type>[A-Z][\w$.]{0,200}?)(?:: (?P<value>.*))?$")
_JS_LOCATION = re.compile(r"^(?P<file>.*?)(?::(?P<line>\d+))(?::\d+)?$")


def _value(kind: str, text: str | None, frames: list[Value], group: bool = False) -> Value:
    module, _, name = kind.rpartition(".")
    return {
        "type": name or kind,
        "module": module or None,
        "value": text or "",
        "mechanism": {
            "exception_id": 0,
            "parent_id": None,
            "source": None,
            "is_exception_group": group,
        },
        "stacktrace": {"frames": frames},
    }


def _link(values: list[Value]) -> list[Value]:
    """Number the values in order (their ``exception_id``)."""
    for index, value in enumerate(values):
        value["mechanism"]["exception_id"] = index
    return values


# -- Python --------------------------------------------------------------------------------


def _python_block(lines: list[str]) -> Value | None:
    """One printed exception: frames, then the "Type: message" line(s)."""
    frames: list[Value] = []
    rest: list[str] = []
    index = 0
    while index < len(lines):
        line = lines[index].strip()
        match = _PY_FRAME.match(line)
        repeat = _PY_REPEAT.match(line)
        if match:
            frames.append(_python_wire_frame(match))
            following = lines[index + 1].strip() if index + 1 < len(lines) else ""
            is_source = (
                following and not _PY_FRAME.match(following) and lines[index + 1][:4] == " " * 4
            )
            if is_source and not _PY_REPEAT.match(following):
                frames[-1]["context_line"] = following
                index += 1
                if index + 1 < len(lines) and _CARETS.match(lines[index + 1]):
                    index += 1
        elif repeat and frames:
            frames.extend(dict(frames[-1]) for _ in range(int(repeat.group("n"))))
        elif line and not line.startswith(_PY_HEADERS):
            rest.append(lines[index])
        index += 1
    found = next(((i, m) for i, r in enumerate(rest) if (m := _PY_EXC.match(r.strip()))), None)
    if found is None:
        return None
    position, match = found
    after = rest[position + 1 :]
    text = "\n".join([match.group("value") or "", *after]).strip("\n")
    return _value(match.group("type"), text, frames)


def _python_wire_frame(match: re.Match[str]) -> Value:
    path, func = match.group("path"), (match.group("f") or "?").strip()
    frame = python_frame(path, func)
    return {
        "filename": path,
        "module": None,
        "function": func,
        "lineno": int(match.group("line")),
        "in_app": frame.in_app,
    }


def _python_chain(lines: list[str]) -> list[Value]:
    """A chain without groups: blocks split at the chain sentences."""
    blocks: list[tuple[list[str], str | None]] = [([], None)]
    for line in lines:
        stripped = line.strip()
        if stripped in (_PY_CAUSE, _PY_CONTEXT):
            blocks.append(([], "__cause__" if stripped == _PY_CAUSE else "__context__"))
        else:
            blocks[-1][0].append(line)
    values: list[Value] = []
    for block, source in blocks:
        value = _python_block(block)
        if value is None:
            continue
        if values and source is not None:
            values[-1]["mechanism"]["source"] = source
            values[-1]["mechanism"]["parent_id"] = len(values)
        values.append(value)
    return values


def _group_lines(lines: list[str]) -> tuple[list[str], list[list[str]]]:
    """Split a group's lines (those after its header): its own, margin removed, and each
    direct member's, one level less.

    Python prints a group's own lines ``<indent>| ``, opens its first member with
    ``<indent>+-+---- 1 ----``, the others with ``<indent>  +---- 2 ----``, and prints a
    member's lines ``<indent>  | ``. A member that is itself a group keeps its own markers one
    level less, ``+-+----`` and ``  | ``, for the recursion to read: only markers at this
    group's level split its members.
    """
    opening = next((line for line in lines if line.lstrip().startswith("+-+-")), None)
    if opening is not None:
        indent = opening[: len(opening) - len(opening.lstrip())]
    else:  # no member printed: the margin of the first own line
        indent = next((line[: line.find("|")] for line in lines if "|" in line), "")
    margin, lead = indent + "|", len(indent) + 2
    own: list[str] = []
    members: list[list[str]] = []
    for line in lines:
        if line[:lead] in (indent + "+-", indent + "  ") and line[lead : lead + 3] == "+--":
            if not _GROUP_END.match(line.strip()):
                members.append([])  # a member of this group opens (its end line closes all)
        elif members:
            content = line[lead:]
            # The member's own margin goes; a nested group's markers stay for the recursion.
            members[-1].append(content[2:] if content[:1] == "|" else content)
        else:
            own.append(line[len(margin) + 1 :] if line.startswith(margin) else line)
    return own, members


def _python_with_groups(lines: list[str], values: list[Value]) -> Value | None:
    """Append a (possibly grouped) exception and its members to ``values``; return it."""
    start = next((i for i, line in enumerate(lines) if "Exception Group Traceback" in line), None)
    if start is None:
        chain = _python_chain(lines)
        _extend(values, chain)
        return values[-1] if chain else None
    before = _python_chain(lines[:start])
    own, members = _group_lines(lines[start + 1 :])
    chain = _python_chain(own)
    if not chain:
        return None
    chain[-1]["mechanism"]["is_exception_group"] = True
    if before:
        tail = [line.strip() for line in lines[:start] if line.strip()][-1:]
        source = "__cause__" if tail == [_PY_CAUSE] else "__context__"
        before[-1]["mechanism"].update(parent_id=len(before), source=source)
    _extend(values, [*before, *chain])
    group = values[-1]
    group_id = len(values) - 1
    for index, member in enumerate(members):
        child = _python_with_groups(member, values)
        if child is not None:
            child["mechanism"].update(parent_id=group_id, source=f"exceptions[{index}]")
    return group


def member_index(source: object) -> int | None:
    """``i`` of an exception-group member's ``mechanism.source``, ``exceptions[i]`` (written
    so by the SDK and by this module); None for any other source."""
    if type(source) is str and source.startswith("exceptions[") and source.endswith("]"):
        digits = source[len("exceptions[") : -1]
        return int(digits) if digits.isascii() and digits.isdigit() else None
    return None


def _extend(values: list[Value], chain: list[Value]) -> None:
    offset = len(values)
    for value in chain:
        parent = value["mechanism"]["parent_id"]
        if parent is not None:
            value["mechanism"]["parent_id"] = parent + offset
    values.extend(chain)


def parse_python(text: str) -> list[Value] | None:
    """A Python traceback as printed by :mod:`traceback` (3.8 to 3.13)."""
    if 'File "' not in text and "Traceback (most recent call last)" not in text:
        return None
    values: list[Value] = []
    _python_with_groups(text.splitlines(), values)
    return _link(values) if values else None


# -- Java ----------------------------------------------------------------------------------


def parse_java(text: str) -> list[Value] | None:
    """``Exception: msg`` then ``at`` lines; each ``Caused by:`` is the previous one's cause."""
    printed: list[tuple[str, str | None, list[Value]]] = []
    for line in text.splitlines():
        frame = JAVA_FRAME.match(line)
        more = _JAVA_MORE.match(line)
        if frame and printed:
            printed[-1][2].append(_java_frame(frame))
        elif more and len(printed) > 1:
            shared = printed[-2][2][-int(more.group("n")) :]
            printed[-1][2].extend(dict(f) for f in shared)
        elif not line.startswith((" ", "\t")) and line.strip():
            head = _JAVA_HEAD.match(line.strip())
            if head and (not printed or line.startswith("Caused by: ")):
                printed.append((head.group("type"), head.group("value"), []))
    if not printed or not any(frames for _, _, frames in printed):
        return None
    values = []
    for kind, message, frames in reversed(printed):  # the deepest cause first
        frames.reverse()  # Java prints the raise site first
        values.append(_value(kind, message, frames))
    for index in range(len(values) - 1):
        values[index]["mechanism"].update(parent_id=index + 1, source="__cause__")
    return _link(values)


def _java_frame(match: re.Match[str]) -> Value:
    frame = java_frame(match)
    src = _JAVA_SRC.match(match.group("src"))
    return {
        "filename": src.group("file") if src else match.group("src"),
        "module": frame.module,
        "function": frame.function,
        "lineno": int(src.group("line")) if src and src.group("line") else None,
        "in_app": frame.in_app,
    }


# -- JavaScript ----------------------------------------------------------------------------


def parse_javascript(text: str) -> list[Value] | None:
    """V8 (``at f (file:1:2)``) or Firefox/Safari (``f@file:1:2``) frames, one exception."""
    frames: list[Value] = []
    head: re.Match[str] | None = None
    for line in text.splitlines():
        hit = js_frame_at(line)
        if hit:
            frames.append(_js_wire_frame(*hit))
        elif head is None and not frames:
            head = _JS_HEAD.match(line.strip())
    if not frames:
        return None
    frames.reverse()
    kind, message = (head.group("type"), head.group("value")) if head else ("Error", None)
    return _link([_value(kind, message, frames)])


def _js_wire_frame(func: str, location: str) -> Value:
    frame = js_frame(func, location)
    where = _JS_LOCATION.match(location.strip())
    return {
        "filename": where.group("file") if where else location.strip(),
        "module": frame.module,
        "function": frame.function,
        "lineno": int(where.group("line")) if where else None,
        "in_app": frame.in_app,
    }


# -- Go ------------------------------------------------------------------------------------


def parse_go(text: str) -> list[Value] | None:
    """``panic: msg`` and the panicking goroutine's ``pkg.Func(...)`` / ``file.go:N`` pairs."""
    lines = text.splitlines()
    message = next((line[len("panic: ") :] for line in lines if line.startswith("panic: ")), "")
    frames: list[Value] = []
    for func, path, file_line in go_frame_lines(lines):
        frame = go_frame(func, path)
        line = re.search(r":(\d+)", file_line)
        frames.append(
            {
                "filename": path,
                "module": frame.module,
                "function": frame.function,
                "lineno": int(line.group(1)) if line else None,
                "in_app": frame.in_app,
            }
        )
    if not frames:
        return None
    frames.reverse()
    return _link([_value("panic", message, frames)])


_PARSERS = (parse_python, parse_java, parse_go, parse_javascript)


def parse_exception(trace: str | None) -> dict[str, Any] | None:
    """``{"values": [...]}`` for a text trace in a supported language, else None."""
    if not trace:
        return None
    text = clip_trace(trace)
    for parser in _PARSERS:
        values = parser(text)
        if values and any(v["stacktrace"]["frames"] for v in values):
            return {"values": values}
    return None
