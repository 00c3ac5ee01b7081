"""The issue page's view of a chain: order, folded library frames, sentences, grouping marks."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

import task_group_app
from tracehub_server.api.sentry.mapping import event_entry
from tracehub_server.dashboard.traces import TraceView, error_detail, trace_view
from tracehub_server.grouping.explain import grouping_view

TRACES = Path(__file__).parents[1] / "grouping" / "traces"


def test_python_chain_in_print_order_with_sentences_and_folds() -> None:
    """Causes first with Python's sentence after them; library runs folded; raise site on top."""
    text = (TRACES / "py_chained_a.txt").read_text()
    grouping = grouping_view("OrderNotFound", "order x not found", text, None)
    view = trace_view(None, text, newest_first=True, grouping=grouping)
    assert view is not None
    assert not view.structured
    first, last = view.exceptions
    assert first.type == "KeyError"
    assert first.sentence_after
    assert first.sentence_after.startswith("During handling")
    assert last.sentence_after is None
    assert last.runs[0].frames[0].function == "fetch_order"
    library = [run for run in last.runs if not run.in_app]
    assert [len(run.frames) for run in library] == [3]
    used = [f.function for run in last.runs for f in run.frames if f.used]
    assert used == ["fetch_order", "load_order", "get_order"]


def test_oldest_first_reverses_frames_not_exceptions() -> None:
    """The frame order flips each exception's frames; the chain keeps Python's order."""
    text = (TRACES / "py_chained_a.txt").read_text()
    view = trace_view(None, text, newest_first=False)
    assert view is not None
    assert [e.type for e in view.exceptions] == ["KeyError", "OrderNotFound"]
    assert view.exceptions[1].runs[0].frames[0].function == "run"


def test_custom_fingerprint_without_default_marks_no_frame() -> None:
    """A custom fingerprint that leaves out the default hashes no frame: none is marked."""

    class Issue:
        grouping_version = "th1"

    class Event:
        error_type, error_message, message = "E", "m", "m"
        stack_trace = (TRACES / "py_chained_a.txt").read_text()
        exception = None
        fingerprint = ["payments"]

    detail = error_detail(Issue(), Event(), newest_first=True)
    assert detail.grouping is not None
    assert detail.grouping.kind == "custom"
    assert detail.trace is not None
    assert not any(f.used for e in detail.trace.exceptions for r in e.runs for f in r.frames)


def _marked(view: TraceView | None) -> list[list[str]]:
    """The marked frames' functions of each exception, in print order, oldest call first."""
    assert view is not None
    return [[f.function for r in e.runs for f in r.frames if f.used] for e in view.exceptions]


@pytest.mark.parametrize("name", sorted(p.name for p in TRACES.glob("*.txt")))
def test_a_text_trace_marks_every_frame_its_fingerprint_hashed(name: str) -> None:
    """A client that sends only text (OTLP, the original SDKs): each hashed frame is marked
    once, whatever the language."""
    text = (TRACES / name).read_text()
    grouping = grouping_view("E", "m", text, None)
    view = trace_view(None, text, newest_first=True, grouping=grouping)
    assert sum(map(len, _marked(view))) == len(grouping.frames) > 0


def _sentry(event: dict[str, Any]) -> TraceView | None:
    entry = event_entry(event, fallback_id="0" * 32)
    grouping = grouping_view(
        entry["error_type"], entry["error_message"], entry["stack_trace"], None
    )
    return trace_view(
        entry["exception"], entry["stack_trace"], newest_first=False, grouping=grouping
    )


def test_sentry_frames_are_marked_as_the_grouping_names_them() -> None:
    """A Spring proxy's class and a Go closure are named by the grouping without their
    generated parts; their structured frames are still marked."""
    java = {"platform": "java", "exception": {"values": [{
        "type": "IllegalStateException", "module": "java.lang",
        "stacktrace": {"frames": [
            {"filename": "CartService.java", "module": "com.acme.CartService$$SpringCGLIB$$0",
             "function": "checkout", "lineno": 1, "in_app": True},
        ]}}]}}  # fmt: skip
    go = {"platform": "go", "exception": [{
        "type": "*errors.errorString", "value": "boom",
        "stacktrace": {"frames": [
            {"module": "main", "function": "serve.func1", "abs_path": "/app/main.go",
             "lineno": 9, "in_app": True},
        ]}}]}  # fmt: skip
    assert _marked(_sentry(java)) == [["checkout"]]
    assert _marked(_sentry(go)) == [["serve.func1"]]


def _task_group_failure() -> tuple[dict[str, Any], str]:
    """A real ``asyncio.TaskGroup`` failure captured by the SDK: its structure and text."""
    from tracehub.stacktrace import StackCapture

    values, text = StackCapture().capture(task_group_app.failure("u1"))
    return {"values": values}, text


@pytest.mark.skipif(sys.version_info < (3, 11), reason="asyncio.TaskGroup needs Python 3.11")
@pytest.mark.parametrize("sent", ["structure", "text"])
def test_an_exception_group_marks_its_own_frames_and_its_members(sent: str) -> None:
    """The group's own frames (the TaskGroup's caller) and its member's frames are marked,
    whether the chain was sent as structure or parsed from the text."""
    exception, text = _task_group_failure()
    grouping = grouping_view("ExceptionGroup", "unhandled errors", text, None)
    assert [keys[0] for keys in grouping.members] == ["LookupError"]
    structure = exception if sent == "structure" else None
    view = trace_view(structure, text, newest_first=False, grouping=grouping)
    marked = _marked(view)
    assert "_load_cart" in marked[0]
    assert marked[1] == ["_load_customer"]
