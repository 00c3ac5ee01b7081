"""The issue page's view of an event's exception chain and of why it was grouped.

The chain is the event's structured ``exception`` (what the SDK sent) or, for a client that
sent only text, its ``stack_trace`` parsed (:mod:`tracehub_server.grouping.structure`).
Exceptions keep the order Python prints them (the first cause first) whatever the frame
order; frames are shown newest-first or oldest-first, in-app frames with their source,
consecutive library frames folded into one "n library frames" group. The frames the
fingerprint hashed are marked, so the page can say why two events are one issue: each shown
frame is read by :func:`~tracehub_server.grouping.frames.frame_of` for the language of the
text trace the fingerprint parsed (a Sentry event's text is written in its platform's layout,
so .NET and other fallback frames read as Python's), and compared by ``module:function``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tracehub_server.grouping.explain import GroupingView, event_grouping_view, grouping_view
from tracehub_server.grouping.fingerprint import reads_groups
from tracehub_server.grouping.frames import READS_CAUSE_FRAMES, frame_of, parse_stack
from tracehub_server.grouping.structure import member_index, parse_exception
from tracehub_server.storage.preferences import FRAME_ORDERS

__all__ = ["FRAME_ORDERS", "GroupingView", "TraceView", "grouping_view", "trace_view"]


_SENTENCES = {
    "__cause__": "The above exception was the direct cause of the following exception:",
    "__context__": "During handling of the above exception, another exception occurred:",
}


@dataclass(slots=True)
class FrameView:
    """One frame as shown."""

    filename: str
    function: str
    lineno: int | None
    in_app: bool
    module: str | None
    context: list[tuple[int | None, str, bool]]  # (line number, text, is the failing line)
    vars: dict[str, str]
    used: bool = False  # hashed into the fingerprint


@dataclass(slots=True)
class FrameRun:
    """Consecutive frames shown together: one in-app frame, or a fold of library frames."""

    in_app: bool
    frames: list[FrameView]


@dataclass(slots=True)
class ExceptionView:
    """One exception of the chain, and the sentence Python prints after it."""

    type: str
    module: str | None
    value: str
    runs: list[FrameRun]
    frame_count: int
    sentence_after: str | None = None
    member_of: int | None = None  # position (1-based) in its exception group
    is_group: bool = False


@dataclass(slots=True)
class TraceView:
    """The whole chain as shown, and where it came from."""

    exceptions: list[ExceptionView]
    structured: bool  # sent as structure (else parsed from the text)


def _context(frame: dict[str, Any]) -> list[tuple[int | None, str, bool]]:
    line = frame.get("context_line")
    if line is None:
        return []
    lineno = frame.get("lineno")
    before = frame.get("pre_context") or []
    after = frame.get("post_context") or []
    first = None if lineno is None else lineno - len(before)
    rows: list[tuple[int | None, str, bool]] = []
    for offset, text in enumerate([*before, line, *after]):
        number = None if first is None else first + offset
        rows.append((number, text, offset == len(before)))
    return rows


def _frame(frame: dict[str, Any]) -> FrameView:
    return FrameView(
        filename=frame.get("filename") or frame.get("module") or "?",
        function=frame.get("function") or "?",
        lineno=frame.get("lineno"),
        in_app=bool(frame.get("in_app")),
        module=frame.get("module"),
        context=_context(frame) if frame.get("in_app") else [],
        vars=dict(frame.get("vars") or {}),
    )


#: What Sentry's browser SDK names a function it could not name; its trace prints such a
#: frame as V8 prints an anonymous one.
_UNNAMED = "?"


def frame_key(frame: FrameView, language: str) -> str:
    """The ``module:function`` the fingerprint names this frame by, in a ``language`` trace."""
    function = frame.function
    if language == "javascript" and function == _UNNAMED:
        function = ""
    return frame_of(language, frame.filename, function, frame.module or "").key


def _runs(frames: list[FrameView]) -> list[FrameRun]:
    runs: list[FrameRun] = []
    for frame in frames:
        if frame.in_app or not runs or runs[-1].in_app:
            runs.append(FrameRun(in_app=frame.in_app, frames=[frame]))
        else:
            runs[-1].frames.append(frame)
    return runs


def _mark_used(
    chain: list[list[FrameView]],
    types: list[str],
    members: list[int | None],
    grouping: GroupingView,
    language: str,
) -> None:
    """Mark, from the raise site back, the frames whose key the fingerprint hashed.

    ``chain`` is in print order, the raised exception last -- or, when it is an exception
    group, last but for its members (``members``: each value's position in its group, if
    any): its frames are the ones the grouping reads (Python's last traceback, the first
    exception of the other layouts); where it reads the causes' frames too, they follow, the
    nearest cause first. A group member's frames are marked by the member of the grouping
    of its type.
    """
    if language in READS_CAUSE_FRAMES:
        read = chain[::-1]
    else:
        outside = [index for index, member in enumerate(members) if member is None]
        read = [chain[outside[-1] if outside else -1]]
    for frames in read:
        _mark_frames(frames, list(grouping.frames), language)
    for keys in grouping.members:
        for frames, kind, member in zip(chain, types, members, strict=True):
            if member is not None and kind == keys[0]:
                _mark_frames(frames, keys[1:], language)


def _mark_frames(frames: list[FrameView], wanted: list[str], language: str) -> None:
    for frame in reversed(frames):
        if not wanted:
            return
        key = frame_key(frame, language)
        if key in wanted:
            frame.used = True
            wanted.remove(key)


def trace_view(
    exception: dict[str, Any] | None,
    stack_trace: str | None,
    *,
    newest_first: bool,
    grouping: GroupingView | None = None,
) -> TraceView | None:
    """The chain to show: ``exception`` as sent, else ``stack_trace`` parsed; None if neither.

    ``grouping``: the frames it hashed are marked (none for a custom fingerprint that leaves
    the default parts out).
    """
    structured = bool(exception and exception.get("values"))
    data = exception if structured else parse_exception(stack_trace)
    if not data:
        return None
    values = data["values"]
    chain = [[_frame(f) for f in value["stacktrace"]["frames"]] for value in values]
    sources = [(value.get("mechanism") or {}).get("source") or "" for value in values]
    members = [_member(source) for source in sources]
    if grouping is not None and _marks_frames(grouping):
        parsed = parse_stack(stack_trace, groups=reads_groups(grouping.version))
        if parsed is not None:
            types = [value.get("type") or "" for value in values]
            _mark_used(chain, types, members, grouping, parsed.language)
    views: list[ExceptionView] = []
    for value, frames, source, member in zip(values, chain, sources, members, strict=True):
        if newest_first:
            frames.reverse()
        mechanism = value.get("mechanism") or {}
        views.append(
            ExceptionView(
                type=value.get("type") or "Error",
                module=value.get("module"),
                value=value.get("value") or "",
                runs=_runs(frames),
                frame_count=len(frames),
                sentence_after=_SENTENCES.get(source),
                member_of=member,
                is_group=bool(mechanism.get("is_exception_group")),
            )
        )
    return TraceView(exceptions=views, structured=structured)


def _member(source: str) -> int | None:
    """The 1-based position shown for a group member (None: not a member)."""
    index = member_index(source)
    return None if index is None else index + 1


@dataclass(slots=True)
class ErrorDetail:
    """What the issue page shows of one event: its chain and why it is in the issue."""

    trace: TraceView | None
    grouping: GroupingView | None


def error_detail(issue: Any, event: Any, *, newest_first: bool) -> ErrorDetail:
    """The trace and grouping of ``event`` (an IssueEvent), or of the issue's sample."""
    if event is None:
        grouping = grouping_view(
            issue.error_type, issue.error_message, issue.sample_stack_trace, None,
            issue.grouping_version,
        )  # fmt: skip
        trace = trace_view(
            None, issue.sample_stack_trace, newest_first=newest_first, grouping=grouping
        )
        return ErrorDetail(trace=trace, grouping=grouping)
    grouping = event_grouping_view(event, issue.grouping_version)
    trace = trace_view(
        event.exception, event.stack_trace, newest_first=newest_first, grouping=grouping
    )
    return ErrorDetail(trace=trace, grouping=grouping)


def _marks_frames(grouping: GroupingView) -> bool:
    """Whether frames were hashed: not for a message, nor a custom fingerprint without them."""
    if grouping.kind == "custom" and not grouping.uses_default:
        return False
    return bool(grouping.frames)
