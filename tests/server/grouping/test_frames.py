"""Stack-trace parsing for Python, Java, JavaScript and Go traces."""

from __future__ import annotations

from pathlib import Path

import pytest

from tracehub_server.grouping.frames import Frame, collapse_recursion, frame_of, parse_stack
from tracehub_server.grouping.structure import parse_exception

TRACES = Path(__file__).parent / "traces"


def _parse(name: str):
    parsed = parse_stack((TRACES / name).read_text())
    assert parsed is not None
    return parsed


def test_python_frames_are_raise_site_first_of_the_final_traceback() -> None:
    """A chained Python trace yields the raised traceback's frames, innermost first."""
    parsed = _parse("py_chained_a.txt")
    assert parsed.language == "python"
    assert parsed.frames[0] == Frame("orders/db", "fetch_order", True)
    assert parsed.chain == ("KeyError",)
    by_module = {f.module: f.in_app for f in parsed.frames}
    assert by_module["starlette/routing"] is False  # site-packages
    assert by_module["asyncio/runners"] is False  # standard library


def test_java_frames_skip_generated_names_and_mark_runtime() -> None:
    """Java frames lose CGLIB/lambda suffixes; java.* and Spring frames are not the app's."""
    parsed = _parse("java_a.txt")
    assert parsed.language == "java"
    assert parsed.frames[0] == Frame("com.acme.billing.InvoiceRenderer", "render", True)
    assert Frame("com.acme.billing.InvoiceService", "issue", True) in parsed.frames
    assert parsed.chain == ("java.lang.NullPointerException",)
    assert not [
        f for f in parsed.frames if f.module.startswith(("java.", "org.spring")) and f.in_app
    ]


def test_node_frames_mark_node_modules_and_internals() -> None:
    """V8 frames: app files by their last path parts, node_modules and node: internals not app."""
    parsed = _parse("node_a.txt")
    assert parsed.language == "javascript"
    assert parsed.frames[0] == Frame("mailer/receipts.js", "sendReceipt", True)
    assert [f.in_app for f in parsed.frames] == [True, True, False, False, False, False]


def test_browser_frames_drop_bundle_hashes() -> None:
    """Firefox-style frames parse, and content hashes in bundle names are dropped."""
    parsed = _parse("browser_a.txt")
    assert parsed.frames[0] == Frame("js/main.js", "renderCart", True)


def test_go_frames_of_the_panicking_goroutine_only() -> None:
    """Go frames come from the first goroutine, with the stdlib marked as not the app's."""
    parsed = _parse("go_a.txt")
    assert parsed.language == "go"
    assert parsed.frames[0] == Frame(
        "github.com/acme/ledger/internal/accounts", "(*Store).Balance", True
    )
    assert [f.in_app for f in parsed.frames] == [True, True, False, False]


def test_recursion_is_collapsed() -> None:
    """Directly repeated frames and repeated two-frame cycles fold to one copy."""
    a, b, c = Frame("m", "a", True), Frame("m", "b", True), Frame("m", "c", True)
    assert collapse_recursion([a, a, a, c]) == [a, c]
    assert collapse_recursion([a, b, a, b, a, b, c]) == [a, b, c]


@pytest.mark.parametrize(
    "garbage",
    [
        None,
        "",
        "just a message, no frames",
        "at " * 100_000,
        'File "' * 100_000,
        "x(" * 50_000 + ")" * 50_000,
        "goroutine 1 [running]:\n" + "f(" * 40_000 + "\n\t/x.go:1\n",
        "\n".join(["    at f (x.js:1:2)"] * 100_000),
    ],
)
def test_garbage_and_huge_traces_do_not_break_parsing(garbage: str | None) -> None:
    """Random text, pathological repetition and huge traces parse to a bounded result or None."""
    parsed = parse_stack(garbage)
    assert parsed is None or len(parsed.frames) <= 200


@pytest.mark.parametrize("name", sorted(p.name for p in TRACES.glob("*.txt")))
def test_frame_of_reads_a_frames_fields_as_the_parser_reads_its_line(name: str) -> None:
    """Each frame the grouping parses is rebuilt by ``frame_of`` from the fields the issue page
    shows (``filename``, ``function``, ``module``), so a page's marks cannot drift from it."""
    text = (TRACES / name).read_text()
    parsed = _parse(name)
    shown = parse_exception(text)
    assert shown is not None
    rebuilt = {
        frame_of(parsed.language, f["filename"], f["function"], f["module"] or "")
        for value in shown["values"]
        for f in value["stacktrace"]["frames"]
    }
    assert set(parsed.frames) <= rebuilt


def test_frame_of_names_the_languages_it_reads() -> None:
    """A language without a parser is refused with the ones that have one."""
    assert frame_of("go", "/app/cart.go", "(*Cart).Pay", "github.com/acme/cart").key == (
        "github.com/acme/cart:(*Cart).Pay"
    )
    with pytest.raises(ValueError, match="one of python, java, javascript, go, got 'ruby'"):
        frame_of("ruby", "cart.rb", "pay")
