"""Sentry exception chains rendered as the Python tracebacks the grouping parses."""

from __future__ import annotations

from tracehub_server.api.sentry.stacktrace import render, type_line
from tracehub_server.grouping.frames import parse_stack


def _value(kind: str, message: str, *frames: tuple[str, str], **more: object) -> dict:
    stack = [{"abs_path": path, "function": func, "lineno": 3, "context_line": " x() "}
             for path, func in frames]  # fmt: skip
    return {"type": kind, "value": message, "stacktrace": {"frames": stack}, **more}


def test_a_chain_parses_into_the_raised_exceptions_frames_and_cause_types() -> None:
    """Causes first, the raised exception last: the parser sees its frames and the chain."""
    trace = render(
        [
            _value("KeyError", "'a'", ("/app/shop/db.py", "get")),
            _value(
                "LookupFailed",
                "no a",
                ("/app/shop/api.py", "handle"),
                ("/app/shop/svc.py", "find"),
                module="shop.errors",
            ),
        ]
    )
    assert "The above exception was the direct cause of the following exception:" in trace
    assert trace.endswith("shop.errors.LookupFailed: no a\n")
    parsed = parse_stack(trace)
    assert parsed is not None
    assert parsed.chain == ("KeyError",)
    assert [(f.module, f.function) for f in parsed.frames] == [
        ("shop/svc", "find"), ("shop/api", "handle")
    ]  # fmt: skip


def test_an_implicit_context_uses_pythons_other_sentence() -> None:
    """A cause marked ``__context__`` is joined by "During handling of ..."."""
    trace = render(
        [
            _value("KeyError", "", ("/a.py", "f"), mechanism={"source": "__context__"}),
            _value("ValueError", "v", ("/b.py", "g")),
        ]
    )
    assert "During handling of the above exception, another exception occurred:" in trace


def test_no_frames_renders_nothing_and_builtins_stay_unqualified() -> None:
    """Without any frame there is no trace (grouping falls back to type and message)."""
    assert render([{"type": "OSError", "value": "disk"}]) == ""
    assert type_line({"type": "OSError", "value": "", "module": "builtins"}) == "OSError"
