"""Text tracebacks parse to the frames the SDK sends as structure (grouping/structure.py)."""

from __future__ import annotations

import asyncio
import builtins
import traceback
from pathlib import Path
from typing import Any

import pytest

from tracehub.stacktrace import StackCapture
from tracehub_server.grouping.structure import parse_exception

TRACES = Path(__file__).parent / "traces"
GROUP = getattr(builtins, "ExceptionGroup", None)


class OrderNotFound(Exception):
    """An application exception with a module, as Python qualifies it in text."""


def _load(order_id: str) -> None:
    raise KeyError(order_id)


def _fetch(order_id: str) -> None:
    try:
        _load(order_id)
    except KeyError as exc:
        raise OrderNotFound(f"order {order_id} not found") from exc


def _handle(order_id: str) -> None:
    try:
        _fetch(order_id)
    except OrderNotFound:
        {}["missing"]


def _recurse(n: int) -> int:
    return 1 / 0 if n == 0 else _recurse(n - 1)


def _group() -> None:
    errors: list[Exception] = []
    for order_id in ("a", "b"):
        try:
            _fetch(order_id)
        except OrderNotFound as exc:
            errors.append(exc)
    if GROUP is None:
        pytest.skip("exception groups need Python 3.11")
    raise GROUP("two orders failed", [*errors, ValueError("bad amount")])


def _nested_group() -> None:
    """A group holding a chained exception and a group of its own (printed one level in)."""
    errors: list[BaseException] = []
    try:
        _handle("ord_2")
    except Exception as exc:  # the chained one
        errors.append(exc)
    if GROUP is None:
        pytest.skip("exception groups need Python 3.11")
    try:
        raise GROUP("inner", [ValueError("bad amount"), KeyError("sku")])
    except GROUP as inner:
        errors.append(inner)
    raise GROUP("outer", errors)


async def _async_inner() -> None:
    await asyncio.sleep(0)
    raise TimeoutError("gateway timed out")


async def _async_outer() -> None:
    await _async_inner()


def _raised(call: Any) -> BaseException:
    try:
        call()
    except pytest.skip.Exception:
        raise
    except BaseException as exc:
        return exc
    raise AssertionError("the scenario did not raise")


def _comparable(values: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    """What text and structure must agree on: per exception its place, type and frames
    (the SDK sends source only for in-app frames; text shows every frame's line)."""
    out = []
    for value in values:
        mech = value["mechanism"]
        frames = [
            (
                f["filename"],
                f["function"],
                f["lineno"],
                f["in_app"],
                (f.get("context_line") or "").strip() if f["in_app"] else None,
            )
            for f in value["stacktrace"]["frames"]
        ]
        out.append(
            (
                value["type"],
                value["module"],
                value["value"],
                mech["parent_id"],
                mech["source"],
                mech["is_exception_group"],
                frames,
            )
        )
    return out


SCENARIOS = {
    "chained cause and context": lambda: _handle("ord_1"),
    "recursion": lambda: _recurse(30),
    "exception group": _group,
    "nested exception group": _nested_group,
    "async": lambda: asyncio.run(_async_outer()),
}


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_python_text_parses_to_the_structured_form(scenario: str) -> None:
    """Python's own text of a real exception parses to exactly the SDK's structured chain."""
    exc = _raised(SCENARIOS[scenario])
    values, _ = StackCapture().capture(exc)
    text = "".join(traceback.format_exception(exc))
    parsed = parse_exception(text)
    assert parsed is not None
    assert _comparable(parsed["values"]) == _comparable(values)


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_sdk_text_parses_like_pythons_text(scenario: str) -> None:
    """The text the SDK writes next to the structure parses to the same chain."""
    exc = _raised(SCENARIOS[scenario])
    values, text = StackCapture().capture(exc)
    parsed = parse_exception(text)
    assert parsed is not None
    assert _comparable(parsed["values"]) == _comparable(values)


def _frames(name: str) -> tuple[list[dict[str, Any]], list[tuple[Any, ...]]]:
    parsed = parse_exception((TRACES / name).read_text())
    assert parsed is not None
    values = parsed["values"]
    return values, [
        (f["module"], f["function"], f["lineno"], f["in_app"])
        for f in values[-1]["stacktrace"]["frames"]
    ]


def test_java_trace_with_cause() -> None:
    """A Java trace: the cause first, "... N more" filled from the enclosing trace."""
    values, frames = _frames("java_a.txt")
    assert [(v["module"], v["type"]) for v in values] == [
        ("java.lang", "NullPointerException"),
        ("com.acme.billing", "InvoiceException"),
    ]
    assert values[0]["mechanism"]["source"] == "__cause__"
    assert values[0]["mechanism"]["parent_id"] == 1
    assert values[1]["value"] == "could not render invoice 48213 for customer c-7781"
    assert frames[-1] == ("com.acme.billing.InvoiceRenderer", "render", 118, True)
    assert frames[0] == ("java.lang.Thread", "run", 833, False)
    cause = values[0]["stacktrace"]["frames"]
    assert cause[-1]["function"] == "rateFor"
    assert cause[-1]["lineno"] == 27
    assert len(cause) == 2 + 7


def test_node_trace() -> None:
    """A Node trace: type and message from the first line, node_modules frames not in-app."""
    values, frames = _frames("node_a.txt")
    assert (values[0]["type"], values[0]["value"]) == (
        "TypeError",
        "Cannot read properties of undefined (reading 'email')",
    )
    assert frames[-1] == ("mailer/receipts.js", "sendReceipt", 42, True)
    assert values[0]["stacktrace"]["frames"][-1]["filename"] == "/app/dist/mailer/receipts.js"
    assert frames[0][3] is False


def test_browser_trace() -> None:
    """A Firefox/Safari trace parses with its line numbers."""
    _, frames = _frames("browser_a.txt")
    assert frames[-1][1:3] == ("renderCart", 2)


def test_go_panic() -> None:
    """A Go panic: the panicking goroutine only, standard library frames not in-app."""
    values, frames = _frames("go_a.txt")
    assert values[0]["type"] == "panic"
    assert values[0]["value"].startswith("runtime error: invalid memory address")
    assert frames[-1] == ("github.com/acme/ledger/internal/accounts", "(*Store).Balance", 88, True)
    assert frames[0] == ("net/http", "(*conn).serve", 2039, False)
    assert len(frames) == 4


def test_no_trace_is_none() -> None:
    """Text that is no traceback gives no structure."""
    assert parse_exception("just a message") is None
    assert parse_exception(None) is None
