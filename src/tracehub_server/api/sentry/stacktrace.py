"""A Sentry exception chain rendered as a Python traceback, the text our grouping parses.

Issues are grouped on the frames that :mod:`tracehub_server.grouping.frames` reads out of a
text trace. Rendering ``exception.values`` (causes first, the raised exception last; frames
oldest first, as Sentry orders both) in exactly the shape Python's ``traceback`` module
prints -- absolute paths, ``line N, in func``, the chain sentences, ``module.Type: value``
for exceptions outside ``builtins`` -- makes a bug reported by a Sentry SDK parse into the
same frames, chain and type as when our SDK reports it, so both land in one issue.
"""

from __future__ import annotations

from typing import Any

_HEAD = "Traceback (most recent call last):\n"
_CAUSE = "\nThe above exception was the direct cause of the following exception:\n\n"
_CONTEXT = "\nDuring handling of the above exception, another exception occurred:\n\n"
#: Modules Python leaves out of the exception line.
_UNQUALIFIED = frozenset({"builtins", "__main__", "exceptions", ""})


def _text(value: Any, default: str = "") -> str:
    return value if type(value) is str else default


def exception_values(event: dict[str, Any]) -> list[dict[str, Any]]:
    """The event's exceptions, causes first (``exception`` may be a list in old SDKs)."""
    exception = event.get("exception")
    if type(exception) is dict:
        exception = exception.get("values")
    if type(exception) is not list:
        return []
    return [value for value in exception if type(value) is dict]


def type_line(value: dict[str, Any]) -> str:
    """``module.Type: value`` as Python's last traceback line prints it."""
    kind = _text(value.get("type"), "Exception")
    module = _text(value.get("module"))
    if module not in _UNQUALIFIED:
        kind = f"{module}.{kind}"
    message = _text(value.get("value"))
    return f"{kind}: {message}" if message else kind


def _frames(value: dict[str, Any]) -> list[str]:
    stacktrace = value.get("stacktrace")
    frames = stacktrace.get("frames") if type(stacktrace) is dict else None
    if type(frames) is not list:
        return []
    lines = []
    for frame in frames:
        if type(frame) is not dict:
            continue
        path = _text(frame.get("abs_path")) or _text(frame.get("filename"))
        path = path or _text(frame.get("module"), "<unknown>")
        lineno = frame.get("lineno")
        line = f'  File "{path}", line {lineno if type(lineno) is int else 0}, in '
        lines.append(line + _text(frame.get("function"), "?") + "\n")
        code = _text(frame.get("context_line")).strip()
        if code:
            lines.append(f"    {code}\n")
    return lines


def render(values: list[dict[str, Any]]) -> str:
    """The chain as Python prints it; empty when no exception has a frame."""
    rendered = [_frames(value) for value in values]
    if not any(rendered):
        return ""
    parts: list[str] = []
    for index, (value, frames) in enumerate(zip(values, rendered, strict=True)):
        if index:
            mechanism = values[index - 1].get("mechanism")
            source = mechanism.get("source") if type(mechanism) is dict else None
            parts.append(_CONTEXT if source == "__context__" else _CAUSE)
        if frames:
            parts.append(_HEAD)
            parts.extend(frames)
        parts.append(type_line(value) + "\n")
    return "".join(parts)
