"""A Sentry exception chain as the text its platform prints, and as our structured form.

``exception.values`` lists causes first and the raised exception last, each with frames
oldest first (Sentry's order). The entry's ``stack_trace`` is written as the event's
``platform`` prints a trace, so it reads as its users know it -- and so that
:mod:`tracehub_server.grouping.frames`, which groups issues on the frames it parses out of
that text, reads each frame's module (or file) and function back, whatever the language:

* ``python`` -- exactly Python's traceback (absolute paths, ``line N, in func``, the chain
  sentences, ``module.Type: value``, exception groups with their members), so a bug
  reported by ``sentry-sdk`` groups with the same bug reported by our SDK;
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

from tracehub_server.grouping.structure import member_index

Value = dict[str, Any]
Frame = dict[str, Any]
#: Each exception of a chain with its frames (read once, for every renderer).
Chain = list[tuple[Value, list[Frame]]]

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


def type_line(value: Value, *, qualified: bool = True) -> str:
    """``module.Type: value`` as Python's last traceback line prints it (``Type: value``
    when not ``qualified``)."""
    kind = _text(value.get("type"), "Exception")
    if qualified:
        module = _text(value.get("module"))
        if module not in _UNQUALIFIED:
            kind = f"{module}.{kind}"
    message = _text(value.get("value"))
    return f"{kind}: {message}" if message else kind


def frames_of(value: Value) -> list[Frame]:
    """The exception's frames (objects only), oldest first."""
    stacktrace = value.get("stacktrace")
    frames = stacktrace.get("frames") if type(stacktrace) is dict else None
    if type(frames) is not list:
        return []
    return [frame for frame in frames if type(frame) is dict]


def _path(frame: Frame) -> str:
    """The frame's absolute path, else its file name, else empty."""
    path = frame.get("abs_path")
    if type(path) is str and path:
        return path
    path = frame.get("filename")
    return path if type(path) is str else ""


def _lineno(frame: Frame) -> int | None:
    lineno = frame.get("lineno")
    return lineno if type(lineno) is int else None


# -- Python and the fallback -----------------------------------------------------------------


def _python_frames(frames: list[Frame], parts: list[str]) -> None:
    for frame in frames:
        path = _path(frame) or _text(frame.get("module"), "<unknown>")
        function = _text(frame.get("function"), "?")
        parts.append(f'  File "{path}", line {_lineno(frame) or 0}, in {function}\n')
        code = frame.get("context_line")
        code = code.strip() if type(code) is str else ""
        if code:
            parts.append(f"    {code}\n")


def _python_layout(chain: Chain, head: str) -> str:
    parts: list[str] = []
    previous: Value | None = None
    for value, frames in chain:
        if previous is not None:
            mechanism = previous.get("mechanism")
            source = mechanism.get("source") if type(mechanism) is dict else None
            parts.append(_CONTEXT if source == "__context__" else _CAUSE)
        if frames:
            parts.append(head)
            _python_frames(frames, parts)
        parts.append(type_line(value) + "\n")
        previous = value
    return "".join(parts)


def _python(chain: Chain) -> str:
    if any(_member_index(value) is not None for value, _ in chain):
        return _ExceptionGroups(chain).text()
    return _python_layout(chain, _HEAD)


def _mechanism(value: Value) -> dict[str, Any]:
    mechanism = value.get("mechanism")
    return mechanism if type(mechanism) is dict else {}


def _member_index(value: Value) -> int | None:
    """``i`` of a member's ``exceptions[i]`` source (None: not a group's member)."""
    return member_index(_mechanism(value).get("source"))


class _ExceptionGroups:
    """A chain holding exception groups, printed as :func:`traceback.format_exception`
    prints it: each group's members indented under it with ``|`` margins and numbered
    ``+---`` separators (up to 15 members and 10 levels, Python's defaults). Values hang
    together by ``mechanism.exception_id``/``parent_id``: a member by ``exceptions[i]``, a
    cause or context by ``__cause__``/``__context__``."""

    MAX_WIDTH, MAX_DEPTH = 15, 10

    def __init__(self, chain: Chain) -> None:
        self.chain = chain
        self.ids = {id(value): _mechanism(value).get("exception_id") for value, _ in chain}
        self.parents = self._parents()
        self.lines: list[str] = []
        self.depth = 0
        self.need_close = False

    def text(self) -> str:
        # The raised exception is the last one that is no member; it is printed with what
        # hangs on it, causes first.
        roots = [entry for entry in self.chain if _member_index(entry[0]) is None]
        self._format(roots[-1] if roots else self.chain[-1])
        return "".join(self.lines)

    def _emit(self, text: str, margin: str = "|") -> None:
        prefix = " " * (2 * self.depth) + (f"{margin} " if self.depth else "")
        self.lines.extend(prefix + line + "\n" for line in text.split("\n")[:-1])

    def _parents(self) -> dict[int, Any]:
        """Each value's parent id. sentry-sdk gives a cause inside a group's member the
        group's id; its ids are assigned depth first, so such a cause hangs on the member
        of that group with the highest id below its own (a group's own cause is numbered
        before the group's members, so it stays on the group)."""
        members: dict[Any, list[int]] = {}
        for value, _ in self.chain:
            mechanism = _mechanism(value)
            eid = mechanism.get("exception_id")
            if _member_index(value) is not None and type(eid) is int:
                members.setdefault(mechanism.get("parent_id"), []).append(eid)
        parents: dict[int, Any] = {}
        for value, _ in self.chain:
            mechanism = _mechanism(value)
            parent, eid = mechanism.get("parent_id"), mechanism.get("exception_id")
            if _member_index(value) is None and type(eid) is int:
                below = [member for member in members.get(parent, ()) if member < eid]
                parent = max(below, default=parent)
            parents[id(value)] = parent
        return parents

    def _hanging(self, parent: Value, kind: str) -> list[tuple[Value, list[Frame]]]:
        """The values hanging on ``parent`` by ``kind`` (a member's or a cause's source)."""
        parent_id = self.ids[id(parent)]
        if parent_id is None:
            return []
        found = []
        for value, frames in self.chain:
            if self.parents[id(value)] != parent_id or value is parent:
                continue
            member = _member_index(value)
            if (kind == "member") == (member is not None):
                found.append((member or 0, (value, frames)))
        found.sort(key=lambda pair: pair[0])
        return [entry for _, entry in found]

    def _format(self, entry: tuple[Value, list[Frame]]) -> None:
        value, frames = entry
        for cause in self._hanging(value, "cause")[-1:]:  # one cause or context per value
            self._format(cause)
            source = _mechanism(cause[0]).get("source")
            self._emit(_CONTEXT if source == "__context__" else _CAUSE)
        members = self._hanging(value, "member")
        if not members:
            if frames:
                self._emit(_HEAD)
                self._emit(self._frames(frames))
            self._emit(type_line(value) + "\n")
            return
        if self.depth > self.MAX_DEPTH:
            self._emit(f"... (max_group_depth is {self.MAX_DEPTH})\n")
            return
        toplevel = self.depth == 0
        if toplevel:
            self.depth = 1
        if frames:
            self._emit(
                "Exception Group Traceback (most recent call last):\n", "+" if toplevel else "|"
            )
            self._emit(self._frames(frames))
        self._emit(type_line(value) + "\n")
        shown = min(len(members), self.MAX_WIDTH + 1)
        self.need_close = False
        for index in range(shown):
            last = index == shown - 1
            if last:
                self.need_close = True
            truncated = index >= self.MAX_WIDTH
            title = "..." if truncated else str(index + 1)
            opening = "+-" if index == 0 else "  "
            self.lines.append(
                f"{' ' * (2 * self.depth)}{opening}+---------------- {title} ----------------\n"
            )
            self.depth += 1
            if truncated:
                more = len(members) - self.MAX_WIDTH
                self._emit(f"and {more} more exception{'s' if more > 1 else ''}\n")
            else:
                self._format(members[index])
            if last and self.need_close:
                self.lines.append(
                    " " * (2 * self.depth) + "+------------------------------------\n"
                )
                self.need_close = False
            self.depth -= 1
        if toplevel:
            self.depth = 0

    @staticmethod
    def _frames(frames: list[Frame]) -> str:
        parts: list[str] = []
        _python_frames(frames, parts)
        return "".join(parts)


def _fallback(chain: Chain) -> str:
    return _python_layout(chain, "")


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


def _javascript_frame(frame: Frame) -> str:
    where = _path(frame) or _text(frame.get("module"), "<anonymous>")
    lineno = _lineno(frame)
    colno = frame.get("colno")
    if lineno is not None:
        where += f":{lineno}" + (f":{colno}" if type(colno) is int else "")
    function = _text(frame.get("function"))
    if not function or function == _UNKNOWN_FUNCTION:
        return f"    at {where}"  # as V8 prints an anonymous function
    return f"    at {function} ({where})"


def _java_frame(frame: Frame) -> str:
    module = _text(frame.get("module"))
    function = _text(frame.get("function"), "<unknown>")
    name = f"{module}.{function}" if module else function
    if frame.get("native") is True:
        return f"\tat {name}(Native Method)"
    filename = _text(frame.get("filename"), "Unknown Source")
    lineno = _lineno(frame)
    return f"\tat {name}({filename}{'' if lineno is None else f':{lineno}'})"


def _go_frame(frame: Frame) -> str:
    module = _text(frame.get("module"))
    function = _text(frame.get("function"), "?")
    name = f"{module}.{function}" if module else function
    return f"{name}(...)\n\t{_path(frame) or '???'}:{_lineno(frame) or 0}"


def _raise_site_first(
    type_line_of: Callable[[Value], str], frame_line: Callable[[Frame], str]
) -> Callable[[Chain], str]:
    """A renderer printing the raised exception first, then each cause ("Caused by: "),
    each with its frames innermost first."""

    def render(chain: Chain) -> str:
        lines: list[str] = []
        for index, (value, frames) in enumerate(reversed(chain)):
            lines.append(("Caused by: " if index else "") + type_line_of(value))
            lines.extend(frame_line(frame) for frame in reversed(frames))
        return "\n".join(lines) + "\n"

    return render


_RENDERERS: dict[str, Callable[[Chain], str]] = {
    "python": _python,
    "javascript": _raise_site_first(_plain_type_line, _javascript_frame),
    "node": _raise_site_first(_plain_type_line, _javascript_frame),
    "java": _raise_site_first(_java_type_line, _java_frame),
    "go": _raise_site_first(_plain_type_line, _go_frame),
}


def render(values: list[Value], platform: object = "python") -> str:
    """The chain as ``platform`` prints it; empty when no exception has a frame."""
    chain = [(value, frames_of(value)) for value in values]
    if not any(frames for _, frames in chain):
        return ""
    renderer = _RENDERERS.get(platform, _fallback) if type(platform) is str else _fallback
    return renderer(chain)


def structured(values: list[Value]) -> dict[str, Any]:
    """The chain as an entry's ``exception``: Sentry's shape is ours, with the absolute path
    as the file name and without frame variables (ingest keeps the known keys only)."""
    return {
        "values": [
            {**value, "stacktrace": {"frames": [_wire_frame(f) for f in frames_of(value)]}}
            for value in values
        ]
    }


def _wire_frame(frame: Frame) -> Frame:
    wire = frame.copy()
    wire.pop("vars", None)
    wire["filename"] = _path(frame) or None
    return wire
