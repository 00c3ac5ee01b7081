"""A Sentry exception chain as the text its platform prints, and as our structured form.

``exception.values`` lists causes first and the raised exception last, each with frames
oldest first (Sentry's order). The entry's ``stack_trace`` is written as the event's
``platform`` prints a trace, so it reads as its users know it -- and so that
:mod:`tracehub_server.grouping.frames`, which groups issues on the frames it parses out of
that text, reads each frame's module (or file) and function back, whatever the language:

* ``python`` -- exactly Python's traceback (absolute paths, ``line N, in func``, the chain
  sentences, ``module.Type: value``), so a bug reported by ``sentry-sdk`` groups with the
  same bug reported by our SDK;
* ``javascript``, ``node`` -- V8's ``Type: value`` then ``    at func (file:line:col)``,
  raise site first; causes follow as ``Caused by:`` blocks. The parser drops a URL's origin
  and a bundle's content hash, so a redeploy or another host does not split an issue;
* ``java`` -- ``module.Type: value`` then ``\\tat module.function(File.java:line)``, causes
  as ``Caused by:`` (as ``printStackTrace`` prints them);
* ``go`` -- ``Type: value`` then Go's ``package.Function(...)`` / ``\\tfile.go:line`` pairs,
  raise site first;
* any other platform -- the frames as ``File "...", line N, in function`` lines, oldest
  first, without Python's ``Traceback`` header (Sentry's own fallback layout, and the only
  one our parser reads for any function name, such as .NET's ``void Cart.Pay(Order o)``).

The structured frames themselves go to the entry's ``exception`` (:func:`structured`), which
the issue page shows.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Value = dict[str, Any]

_HEAD = "Traceback (most recent call last):\n"
_CAUSE = "\nThe above exception was the direct cause of the following exception:\n\n"
_CONTEXT = "\nDuring handling of the above exception, another exception occurred:\n\n"
#: Modules Python leaves out of the exception line.
_UNQUALIFIED = frozenset({"builtins", "__main__", "exceptions", ""})
#: What the browser SDK names a function it could not name.
_UNKNOWN_FUNCTION = "?"


def _text(value: Any, default: str = "") -> str:
    return value if type(value) is str else default


def exception_values(event: dict[str, Any]) -> list[Value]:
    """The event's exceptions, causes first (``exception`` may be a list in old SDKs)."""
    exception = event.get("exception")
    if type(exception) is dict:
        exception = exception.get("values")
    if type(exception) is not list:
        return []
    return [value for value in exception if type(value) is dict]


def type_line(value: Value) -> str:
    """``module.Type: value`` as Python's last traceback line prints it."""
    kind = _text(value.get("type"), "Exception")
    module = _text(value.get("module"))
    if module not in _UNQUALIFIED:
        kind = f"{module}.{kind}"
    message = _text(value.get("value"))
    return f"{kind}: {message}" if message else kind


def frames_of(value: Value) -> list[dict[str, Any]]:
    """The exception's frames (objects only), oldest first."""
    stacktrace = value.get("stacktrace")
    frames = stacktrace.get("frames") if type(stacktrace) is dict else None
    if type(frames) is not list:
        return []
    return [frame for frame in frames if type(frame) is dict]


def _path(frame: dict[str, Any], default: str) -> str:
    return _text(frame.get("abs_path")) or _text(frame.get("filename")) or default


def _lineno(frame: dict[str, Any]) -> int | None:
    lineno = frame.get("lineno")
    return lineno if type(lineno) is int else None


# -- Python and the fallback -----------------------------------------------------------------


def _python_frames(frames: list[dict[str, Any]]) -> list[str]:
    lines = []
    for frame in frames:
        path = _path(frame, _text(frame.get("module"), "<unknown>"))
        line = f'  File "{path}", line {_lineno(frame) or 0}, in '
        lines.append(line + _text(frame.get("function"), "?") + "\n")
        code = _text(frame.get("context_line")).strip()
        if code:
            lines.append(f"    {code}\n")
    return lines


def _python_layout(values: list[Value], head: str) -> str:
    parts: list[str] = []
    for index, value in enumerate(values):
        if index:
            mechanism = values[index - 1].get("mechanism")
            source = mechanism.get("source") if type(mechanism) is dict else None
            parts.append(_CONTEXT if source == "__context__" else _CAUSE)
        frames = _python_frames(frames_of(value))
        if frames:
            parts.append(head)
            parts.extend(frames)
        parts.append(type_line(value) + "\n")
    return "".join(parts)


def _python(values: list[Value]) -> str:
    return _python_layout(values, _HEAD)


def _fallback(values: list[Value]) -> str:
    return _python_layout(values, "")


# -- Raise site first: JavaScript, Java, Go ----------------------------------------------------


def _plain_type_line(value: Value) -> str:
    kind = _text(value.get("type"), "Error")
    message = _text(value.get("value"))
    return f"{kind}: {message}" if message else kind


def _java_type_line(value: Value) -> str:
    module = _text(value.get("module"))
    kind = _text(value.get("type"), "Exception")
    kind = f"{module}.{kind}" if module else kind
    message = _text(value.get("value"))
    return f"{kind}: {message}" if message else kind


def _javascript_frame(frame: dict[str, Any]) -> str:
    where = _path(frame, _text(frame.get("module"), "<anonymous>"))
    lineno = _lineno(frame)
    colno = frame.get("colno")
    if lineno is not None:
        where += f":{lineno}" + (f":{colno}" if type(colno) is int else "")
    function = _text(frame.get("function"))
    if not function or function == _UNKNOWN_FUNCTION:
        return f"    at {where}"  # as V8 prints an anonymous function
    return f"    at {function} ({where})"


def _java_frame(frame: dict[str, Any]) -> str:
    module = _text(frame.get("module"))
    function = _text(frame.get("function"), "<unknown>")
    name = f"{module}.{function}" if module else function
    if frame.get("native") is True:
        return f"\tat {name}(Native Method)"
    filename = _text(frame.get("filename"), "Unknown Source")
    lineno = _lineno(frame)
    return f"\tat {name}({filename}{'' if lineno is None else f':{lineno}'})"


def _go_frame(frame: dict[str, Any]) -> str:
    module = _text(frame.get("module"))
    function = _text(frame.get("function"), "?")
    name = f"{module}.{function}" if module else function
    return f"{name}(...)\n\t{_path(frame, '???')}:{_lineno(frame) or 0}"


def _raise_site_first(
    type_line_of: Callable[[Value], str], frame_line: Callable[[dict[str, Any]], str]
) -> Callable[[list[Value]], str]:
    """A renderer printing the raised exception first, then each cause ("Caused by: "),
    each with its frames innermost first."""

    def render(values: list[Value]) -> str:
        lines: list[str] = []
        for index, value in enumerate(reversed(values)):
            lines.append(("Caused by: " if index else "") + type_line_of(value))
            lines.extend(frame_line(frame) for frame in reversed(frames_of(value)))
        return "\n".join(lines) + "\n"

    return render


_RENDERERS: dict[str, Callable[[list[Value]], str]] = {
    "python": _python,
    "javascript": _raise_site_first(_plain_type_line, _javascript_frame),
    "node": _raise_site_first(_plain_type_line, _javascript_frame),
    "java": _raise_site_first(_java_type_line, _java_frame),
    "go": _raise_site_first(_plain_type_line, _go_frame),
}


def render(values: list[Value], platform: object = "python") -> str:
    """The chain as ``platform`` prints it; empty when no exception has a frame."""
    if not any(frames_of(value) for value in values):
        return ""
    renderer = _RENDERERS.get(platform, _fallback) if type(platform) is str else _fallback
    return renderer(values)


def structured(values: list[Value]) -> dict[str, Any]:
    """The chain as an entry's ``exception``: Sentry's shape is ours, with the absolute path
    as the file name and without frame variables (ingest keeps the known keys only)."""
    return {
        "values": [
            {**value, "stacktrace": {"frames": [_wire_frame(f) for f in frames_of(value)]}}
            for value in values
        ]
    }


def _wire_frame(frame: dict[str, Any]) -> dict[str, Any]:
    wire = {key: item for key, item in frame.items() if key != "vars"}
    wire["filename"] = _path(frame, "") or None
    return wire
