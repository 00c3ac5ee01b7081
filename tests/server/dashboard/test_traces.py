"""The issue page's view of a chain: order, folded library frames, sentences, grouping marks."""

from __future__ import annotations

from pathlib import Path

from tracehub_server.dashboard.traces import error_detail, trace_view
from tracehub_server.grouping.explain import grouping_view

TRACES = Path(__file__).parents[1] / "grouping" / "traces"


def test_python_chain_in_print_order_with_sentences_and_folds() -> None:
    """Causes first with Python's sentence after them; library runs folded; raise site on top."""
    text = (TRACES / "py_chained_a.txt").read_text()
    grouping = grouping_view("OrderNotFound", "order x not found", text, None)
    view = trace_view(None, text, newest_first=True, used_frames=grouping.frames)
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
