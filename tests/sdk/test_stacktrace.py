"""Structured exceptions in the SDK: what is captured, bounded, cached and sent."""

from __future__ import annotations

import linecache
from collections.abc import Callable
from typing import Any

import pytest

from tracehub import ErrorOptions, TraceHubLogger
from tracehub.limits import (
    MAX_EXCEPTIONS_PER_CHAIN,
    MAX_FRAMES_PER_EXCEPTION,
    MAX_VAR_CHARS,
    SOURCE_CONTEXT_LINES,
)
from tracehub.stacktrace import StackCapture
from tracehub.testing import LocalReceiver


def _fail(amount: int) -> None:
    secret_note = "x" * 1000  # noqa: F841 - a local the capture must bound
    raise ValueError(f"bad amount {amount}")


def _raised(call: Callable[[], Any]) -> BaseException:
    try:
        call()
    except BaseException as exc:
        return exc
    raise AssertionError("did not raise")


def _last_frame(values: list[dict[str, Any]]) -> dict[str, Any]:
    frame: dict[str, Any] = values[-1]["stacktrace"]["frames"][-1]
    return frame


def test_in_app_frame_has_source_context() -> None:
    """An in-app frame carries the failing line and the lines around it."""
    values, _ = StackCapture().capture(_raised(lambda: _fail(3)))
    frame = _last_frame(values)
    assert frame["function"] == "_fail"
    assert frame["module"] == __name__
    assert frame["in_app"]
    assert frame["context_line"].strip() == 'raise ValueError(f"bad amount {amount}")'
    assert frame["pre_context"][-1].strip().startswith("secret_note")
    assert len(frame["pre_context"]) <= SOURCE_CONTEXT_LINES
    assert "vars" not in frame


def test_library_frames_have_no_context() -> None:
    """A standard-library frame is not in-app and carries no source."""
    import json

    values, _ = StackCapture().capture(_raised(lambda: json.loads("{")))
    library = [f for f in values[-1]["stacktrace"]["frames"] if f["module"].startswith("json")]
    assert library
    assert not any(f["in_app"] or "context_line" in f for f in library)


def test_include_and_exclude_prefixes() -> None:
    """Exclude prefixes make app frames library frames; include prefixes the reverse."""
    import json

    exc = _raised(lambda: json.loads("{"))
    excluded, _ = StackCapture(ErrorOptions(in_app_exclude=(__name__,))).capture(exc)
    assert not any(f["in_app"] for f in excluded[-1]["stacktrace"]["frames"])
    included, _ = StackCapture(ErrorOptions(in_app_include=("json",))).capture(exc)
    assert all(
        f["in_app"] for f in included[-1]["stacktrace"]["frames"] if f["module"].startswith("json")
    )


def test_locals_only_when_asked_and_bounded() -> None:
    """capture_locals=True sends bounded reprs of an in-app frame's variables."""
    values, _ = StackCapture(ErrorOptions(capture_locals=True)).capture(_raised(lambda: _fail(7)))
    local_vars = _last_frame(values)["vars"]
    assert local_vars["amount"] == "7"
    assert len(local_vars["secret_note"]) <= MAX_VAR_CHARS


def test_chain_order_and_links() -> None:
    """Causes come first; each names the exception it led to and how."""

    def chained() -> None:
        try:
            _fail(1)
        except ValueError as exc:
            raise RuntimeError("checkout failed") from exc

    values, text = StackCapture().capture(_raised(chained))
    assert [v["type"] for v in values] == ["ValueError", "RuntimeError"]
    assert values[0]["mechanism"] == {
        "exception_id": 0,
        "parent_id": 1,
        "source": "__cause__",
        "is_exception_group": False,
    }
    assert "The above exception was the direct cause" in text
    assert text.rstrip().endswith("RuntimeError: checkout failed")


def test_deep_recursion_is_bounded() -> None:
    """A RecursionError keeps a bounded number of frames (both ends) and collapses the text."""

    def forever(n: int) -> int:
        return forever(n + 1)

    values, text = StackCapture().capture(_raised(lambda: forever(0)))
    assert len(values[-1]["stacktrace"]["frames"]) == MAX_FRAMES_PER_EXCEPTION
    assert "more times]" in text


def test_a_frame_reads_its_file_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """The same code location is described once: later captures never read source again."""
    reads: list[str] = []
    real = linecache.getlines

    def counting(filename: str, module_globals: Any = None) -> list[str]:
        reads.append(filename)
        return real(filename, module_globals)

    monkeypatch.setattr(linecache, "getlines", counting)
    capture = StackCapture()

    def scenario() -> None:
        _fail(1)

    capture.capture(_raised(scenario))
    first = len(reads)
    for _ in range(5):
        capture.capture(_raised(scenario))
    assert first > 0
    assert len(reads) == first


def test_wire_entry_carries_structure_and_text(
    make_logger: Callable[..., TraceHubLogger], rx: LocalReceiver
) -> None:
    """An error entry carries both ``exception`` and the text ``stack_trace``."""
    logger = make_logger()
    try:
        _fail(5)
    except ValueError:
        logger.error("payment failed", exc_info=True)
    logger.flush(timeout=5)
    [entry] = rx.entries
    assert entry["error_type"] == "ValueError"
    assert "line" in entry["stack_trace"]
    assert "ValueError: bad amount 5" in entry["stack_trace"]
    last = entry["exception"]["values"][-1]
    assert last["value"] == "bad amount 5"
    assert last["stacktrace"]["frames"][-1]["function"] == "_fail"


def test_custom_fingerprint_is_sent(
    make_logger: Callable[..., TraceHubLogger], rx: LocalReceiver
) -> None:
    """``fingerprint=`` reaches the wire as a list of strings, with or without an exception."""
    logger = make_logger()
    logger.error("gateway timeout", fingerprint=["payment-gateway", "timeout"])
    logger.fatal("down", fingerprint=("{{ default }}", 42))
    logger.flush(timeout=5)
    first, second = rx.entries
    assert first["fingerprint"] == ["payment-gateway", "timeout"]
    assert "exception" not in first
    assert second["fingerprint"] == ["{{ default }}", "42"]


def test_a_very_long_chain_is_bounded() -> None:
    """A thousand chained exceptions keep the last ones, and capturing never recurses deep."""
    exc: BaseException = ValueError("root")
    for n in range(1000):
        nxt = RuntimeError(f"level {n}")
        nxt.__cause__ = exc
        exc = nxt
    values, _ = StackCapture().capture(exc)
    assert len(values) == MAX_EXCEPTIONS_PER_CHAIN
    assert values[-1]["value"] == "level 999"
    assert values[0]["mechanism"]["parent_id"] == 1
