"""Structured exceptions: the whole chain of an exception as data, and its text in one pass.

The wire form (the ``exception`` key of an entry; ``docs/errors.md`` documents it), close to
Sentry's ``exception`` interface::

    {"values": [                                  # in the order Python prints them:
        {"type": "KeyError",                      #   the first cause first, the raised one last
         "module": None,                          # None for builtins
         "value": "'ord_1'",
         "mechanism": {"exception_id": 0, "parent_id": 1,
                       "source": "__context__",   # or "__cause__", "exceptions[2]", None
                       "is_exception_group": False},
         "stacktrace": {"frames": [               # oldest call first, the raise site last
             {"filename": "/srv/app/orders.py", "module": "app.orders", "function": "load",
              "lineno": 88, "in_app": True,
              "pre_context": [...], "context_line": "    return cache[key]",
              "post_context": [...],              # the three: in-app frames only
              "vars": {"key": "'ord_1'"}}]}}]}    # only with capture_locals=True

``mechanism.source`` says how an exception hangs on its ``parent_id``: ``__cause__``
("The above exception was the direct cause of the following exception"), ``__context__``
("During handling of the above exception, another exception occurred") or
``exceptions[i]`` (the i-th member of an exception group).

Cost: a frame's description, source context and text are built once per code location and
cached (:class:`StackCapture`), so the caller reads a source file at most once per frame
whatever the number of calls, and the text ``stack_trace`` is written from the same walk
instead of by :mod:`traceback` (which stats every file on every call). Exception groups
take :func:`traceback.format_exception` for their text (their nested layout is Python's).
"""

from __future__ import annotations

import builtins
import linecache
import os
import reprlib
import sysconfig
import traceback
from dataclasses import dataclass
from types import CodeType, TracebackType
from typing import Any

from tracehub.limits import (
    MAX_CONTEXT_LINE_CHARS,
    MAX_EXCEPTIONS_PER_CHAIN,
    MAX_FRAMES_PER_EXCEPTION,
    MAX_VAR_CHARS,
    MAX_VARS_PER_FRAME,
    SOURCE_CONTEXT_LINES,
)

__all__ = ["ErrorOptions", "StackCapture"]

#: Code locations whose frame is cached; the cache is emptied when it grows past this.
MAX_CACHED_FRAMES = 4_096
#: Identical consecutive frames printed before "[Previous line repeated N more times]".
_RECURSION_CUTOFF = 3

_CAUSE = "\nThe above exception was the direct cause of the following exception:\n\n"
_CONTEXT = "\nDuring handling of the above exception, another exception occurred:\n\n"
_HEADER = "Traceback (most recent call last):\n"


@dataclass(frozen=True, slots=True, kw_only=True)
class ErrorOptions:
    """How exceptions are captured (``TraceHubLogger(errors=ErrorOptions(...))``).

    * ``in_app_include`` / ``in_app_exclude`` -- prefixes of a module name (``"myapp"``) or
      of a file path (``"/srv/app/"``); exclude wins. Without a match, a frame is the
      application's unless its file is in the standard library or in site-/dist-packages.
    * ``capture_locals`` -- send each in-app frame's local variables as bounded ``repr``
      strings (scrubbed by the server like ``extra``). Off by default: locals hold secrets.
    """

    in_app_include: tuple[str, ...] = ()
    in_app_exclude: tuple[str, ...] = ()
    capture_locals: bool = False


def _library_prefixes() -> tuple[str, ...]:
    paths = sysconfig.get_paths()
    roots = {paths.get(k) for k in ("stdlib", "platstdlib", "purelib", "platlib")}
    roots |= {os.path.dirname(os.__file__)}
    return tuple(sorted({os.path.join(os.path.realpath(r), "") for r in roots if r}))


_LIBRARY_PREFIXES = _library_prefixes()
#: ``BaseExceptionGroup`` (Python 3.11+), or None before it existed.
_GROUP: type[BaseException] | None = getattr(builtins, "BaseExceptionGroup", None)
_PACKAGE_DIRS = (f"{os.sep}site-packages{os.sep}", f"{os.sep}dist-packages{os.sep}")
_repr = reprlib.Repr()
_repr.maxstring = _repr.maxother = MAX_VAR_CHARS
_repr.maxlevel = 3


def _safe_text(value: object) -> str:
    try:
        return str(value)
    except Exception:
        return f"<unprintable {type(value).__name__}>"


def _safe_repr(value: object) -> str:
    try:
        text = _repr.repr(value)
    except Exception:
        text = f"<unrepresentable {type(value).__name__}>"
    return text if len(text) <= MAX_VAR_CHARS else text[: MAX_VAR_CHARS - 3] + "..."


def _cut(lines: list[str]) -> list[str]:
    return [line[:MAX_CONTEXT_LINE_CHARS].rstrip("\r\n") for line in lines]


#: A cached frame: its wire dict (shared: never mutated) and its lines of text.
_CachedFrame = tuple[dict[str, Any], str]


class StackCapture:
    """Captures exceptions for one logger; holds the per-code-location frame cache."""

    def __init__(self, options: ErrorOptions | None = None) -> None:
        self.options = options or ErrorOptions()
        self._include = self.options.in_app_include
        self._exclude = self.options.in_app_exclude
        self._locals = self.options.capture_locals
        self._frames: dict[tuple[CodeType, int], _CachedFrame] = {}

    # -- one exception chain ------------------------------------------------------------

    def capture(self, exc: BaseException) -> tuple[list[dict[str, Any]], str]:
        """The chain's wire ``values`` and the text Python would print (minus carets)."""
        values: list[dict[str, Any]] = []
        text: list[str] = []
        self._walk(exc, values, text, set())
        if len(values) > MAX_EXCEPTIONS_PER_CHAIN:
            values = _keep_last(values, MAX_EXCEPTIONS_PER_CHAIN)
        if _is_group(exc):
            text = [_format_with_traceback(exc)]
        return values, "".join(text)

    def _walk(
        self, exc: BaseException, values: list[dict[str, Any]], text: list[str], seen: set[int]
    ) -> dict[str, Any]:
        """Append ``exc``'s causes, then ``exc``, then its group's members (print order)."""
        seen.add(id(exc))
        linked, source = None, None
        cause, context = exc.__cause__, exc.__context__
        if len(seen) > 2 * MAX_EXCEPTIONS_PER_CHAIN:
            cause = context = None  # a chain that long is cut anyway: never recurse deeper
        if cause is not None and id(cause) not in seen:
            linked, source = self._walk(cause, values, text, seen), "__cause__"
            text.append(_CAUSE)
        elif context is not None and not exc.__suppress_context__ and id(context) not in seen:
            linked, source = self._walk(context, values, text, seen), "__context__"
            text.append(_CONTEXT)
        exception_id = len(values)
        group = _is_group(exc)
        frames, frame_text = self._frames_of(exc.__traceback__)
        slot: dict[str, Any] = {
            "type": type(exc).__qualname__,
            "module": _module_of(type(exc)),
            "value": _safe_text(exc),
            "mechanism": {
                "exception_id": exception_id,
                "parent_id": None,
                "source": None,
                "is_exception_group": group,
            },
            "stacktrace": {"frames": frames},
        }
        values.append(slot)
        if linked is not None:
            linked["mechanism"].update(parent_id=exception_id, source=source)
        if frame_text:
            text.append(_HEADER)
            text.append(frame_text)
        text.append(_format_only(exc))
        if group:
            for index, member in enumerate(exc.exceptions):  # type: ignore[attr-defined]
                if id(member) in seen or len(values) >= 2 * MAX_EXCEPTIONS_PER_CHAIN:
                    continue
                child = self._walk(member, values, [], seen)
                child["mechanism"].update(parent_id=exception_id, source=f"exceptions[{index}]")
        return slot

    # -- frames -------------------------------------------------------------------------

    def _frames_of(self, tb: TracebackType | None) -> tuple[list[dict[str, Any]], str]:
        frames: list[dict[str, Any]] = []
        text: list[str] = []
        cache = self._frames
        last: str | None = None
        repeats = 0
        while tb is not None:
            frame = tb.tb_frame
            key = (frame.f_code, tb.tb_lineno or 0)
            cached = cache.get(key)
            if cached is None:
                cached = self._describe(key[0], key[1], frame.f_globals)
            wire, line = cached
            if self._locals and wire["in_app"]:
                wire = {**wire, "vars": _vars(frame.f_locals)}
            frames.append(wire)
            if line is last:
                repeats += 1
                if repeats <= _RECURSION_CUTOFF:
                    text.append(line)
            else:
                _note_repeats(text, repeats)
                last, repeats = line, 1
                text.append(line)
            tb = tb.tb_next
        _note_repeats(text, repeats)
        if len(frames) > MAX_FRAMES_PER_EXCEPTION:
            half = MAX_FRAMES_PER_EXCEPTION // 2
            frames = frames[:half] + frames[-half:]
        return frames, "".join(text)

    def _describe(self, code: CodeType, lineno: int, globals_: dict[str, Any]) -> _CachedFrame:
        """Build (and cache) one code location's frame: read its source once."""
        filename = code.co_filename
        module = globals_.get("__name__")
        module = module if isinstance(module, str) else None
        in_app = self._in_app(filename, module)
        lines = linecache.getlines(filename, globals_)
        line = lines[lineno - 1] if 0 < lineno <= len(lines) else ""
        wire: dict[str, Any] = {
            "filename": filename,
            "module": module,
            "function": code.co_name,
            "lineno": lineno,
            "in_app": in_app,
        }
        if in_app and line:
            start = max(lineno - 1 - SOURCE_CONTEXT_LINES, 0)
            wire["pre_context"] = _cut(lines[start : lineno - 1])
            wire["context_line"] = _cut([line])[0]
            wire["post_context"] = _cut(lines[lineno : lineno + SOURCE_CONTEXT_LINES])
        text = f'  File "{filename}", line {lineno}, in {code.co_name}\n'
        if line.strip():
            text += f"    {line.strip()}\n"
        if len(self._frames) >= MAX_CACHED_FRAMES:
            self._frames.clear()
        cached = self._frames[(code, lineno)] = (wire, text)
        return cached

    def _in_app(self, filename: str, module: str | None) -> bool:
        names = (module or "", filename)
        if self._exclude and any(n.startswith(self._exclude) for n in names):
            return False
        if self._include and any(n.startswith(self._include) for n in names):
            return True
        if filename.startswith("<"):
            return False  # <frozen ...>, <string>: no file of the application's
        path = os.path.realpath(filename) if os.path.isabs(filename) else filename
        if any(d in path for d in _PACKAGE_DIRS):
            return False
        return not path.startswith(_LIBRARY_PREFIXES)


def _note_repeats(text: list[str], repeats: int) -> None:
    if repeats > _RECURSION_CUTOFF:
        more = repeats - _RECURSION_CUTOFF
        text.append(f"  [Previous line repeated {more} more time{'s' if more > 1 else ''}]\n")


def _is_group(exc: BaseException) -> bool:
    return _GROUP is not None and isinstance(exc, _GROUP)


def _keep_last(values: list[dict[str, Any]], count: int) -> list[dict[str, Any]]:
    """The last ``count`` values (the raised exception is last), their ids renumbered."""
    offset = len(values) - count
    kept = []
    for value in values[offset:]:
        mech = dict(value["mechanism"])
        mech["exception_id"] -= offset
        parent = mech["parent_id"]
        mech["parent_id"] = None if parent is None or parent < offset else parent - offset
        kept.append({**value, "mechanism": mech})
    return kept


def _module_of(cls: type) -> str | None:
    module = getattr(cls, "__module__", None)
    return module if isinstance(module, str) and module != "builtins" else None


def _vars(local_vars: dict[str, Any]) -> dict[str, str]:
    out: dict[str, str] = {}
    for name, value in local_vars.items():
        if len(out) >= MAX_VARS_PER_FRAME:
            out["..."] = f"[{len(local_vars) - MAX_VARS_PER_FRAME} more]"
            break
        out[str(name)] = _safe_repr(value)
    return out


def _format_only(exc: BaseException) -> str:
    try:
        return "".join(traceback.format_exception_only(type(exc), exc))
    except Exception:
        return f"{type(exc).__name__}: <unprintable>\n"


def _format_with_traceback(exc: BaseException) -> str:
    try:
        return "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    except Exception:
        return _format_only(exc)
