"""Sentry exception chains rendered as their platform prints them, and read back by the
grouping's parser into the same frames."""

from __future__ import annotations

from tracehub_server.api.sentry.stacktrace import exception_values, render, structured, type_line
from tracehub_server.api.structured import checked_exception
from tracehub_server.grouping.fingerprint import fingerprint, fingerprint_parts
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


# Events as the SDKs send them (trimmed to the exception and platform): frames oldest first,
# the raised exception last.
BROWSER_EVENT = {
    "platform": "javascript",
    "sdk": {"name": "sentry.javascript.browser", "version": "11.17.0"},
    "exception": {"values": [{
        "type": "TypeError",
        "value": "Cannot read properties of undefined (reading 'total')",
        "mechanism": {"type": "onerror", "handled": False},
        "stacktrace": {"frames": [
            {"filename": "https://shop.example/static/js/vendor.5d2c91af.js", "function": "?",
             "in_app": True, "lineno": 1, "colno": 8812},
            {"filename": "https://shop.example/static/js/main.3f9a1c2b.js",
             "function": "HTMLButtonElement.onClick", "in_app": True, "lineno": 2, "colno": 1450},
            {"filename": "https://shop.example/static/js/main.3f9a1c2b.js",
             "function": "cartTotal", "in_app": True, "lineno": 2, "colno": 977},
        ]},
    }]},
}  # fmt: skip
JAVA_EVENT = {
    "platform": "java",
    "sdk": {"name": "sentry.java.spring-boot.jakarta", "version": "8.13.2"},
    "exception": {"values": [
        {"type": "SQLException", "value": "connection reset", "module": "java.sql",
         "stacktrace": {"frames": [
             {"filename": "CartRepository.java", "function": "load",
              "module": "com.acme.shop.CartRepository", "lineno": 31, "in_app": True,
              "native": False},
         ]},
         "mechanism": {"type": "chained", "exception_id": 1, "parent_id": 0}},
        {"type": "CheckoutException", "value": "cart 42 unavailable",
         "module": "com.acme.shop", "thread_id": 47,
         "stacktrace": {"frames": [
             {"filename": "Thread.java", "function": "run", "module": "java.lang.Thread",
              "lineno": 1583, "in_app": False, "native": False},
             {"filename": "CartController.java", "function": "checkout",
              "module": "com.acme.shop.CartController", "lineno": 58, "in_app": True,
              "native": False},
             {"filename": "CartService.java", "function": "checkout",
              "module": "com.acme.shop.CartService", "lineno": 42, "in_app": True,
              "native": False},
         ]},
         "mechanism": {"type": "UncaughtExceptionHandler", "handled": False,
                       "exception_id": 0}},
    ]},
}  # fmt: skip
GO_EVENT = {  # sentry-go sends "exception" as a bare list
    "platform": "go",
    "sdk": {"name": "sentry.go", "version": "0.35.0"},
    "exception": [{
        "type": "*errors.errorString",
        "value": "card declined",
        "stacktrace": {"frames": [
            {"function": "main", "module": "main", "abs_path": "/app/main.go",
             "filename": "main.go", "lineno": 30, "in_app": True},
            {"function": "(*Cart).Checkout", "module": "github.com/acme/shop/cart",
             "abs_path": "/app/cart/cart.go", "filename": "cart.go", "lineno": 57,
             "in_app": True},
        ]},
    }],
}  # fmt: skip
DOTNET_EVENT = {
    "platform": "csharp",
    "sdk": {"name": "sentry.dotnet", "version": "5.16.0"},
    "exception": {"values": [{
        "type": "System.InvalidOperationException",
        "value": "Sequence contains no elements",
        "module": "System.Linq, Version=9.0.0.0, Culture=neutral",
        "stacktrace": {"frames": [
            {"function": "void CartController.Checkout(int id)",
             "package": "Acme.Shop, Version=1.0.0.0, Culture=neutral, PublicKeyToken=null",
             "abs_path": "/src/Acme.Shop/CartController.cs", "filename": "CartController.cs",
             "lineno": 18, "colno": 9, "in_app": True},
            {"function": "decimal CartService.Total(Cart cart)",
             "abs_path": "/src/Acme.Shop/CartService.cs", "filename": "CartService.cs",
             "lineno": 42, "colno": 13, "in_app": True},
        ]},
    }]},
}  # fmt: skip


def _text_of(event: dict) -> str:
    return render(exception_values(event), event["platform"])


def _frames(trace: str) -> tuple[str, list[tuple[str, str]]]:
    parsed = parse_stack(trace)
    assert parsed is not None, trace
    return parsed.language, [(f.module, f.function) for f in parsed.frames]


def test_a_browser_error_reads_as_v8_prints_it_and_groups_on_its_frames() -> None:
    """V8's layout, raise site first; the parser reads every frame back (file without
    origin or bundle hash, function), so the grouping uses frames, not the message."""
    trace = _text_of(BROWSER_EVENT)
    assert trace == (
        "TypeError: Cannot read properties of undefined (reading 'total')\n"
        "    at cartTotal (https://shop.example/static/js/main.3f9a1c2b.js:2:977)\n"
        "    at HTMLButtonElement.onClick (https://shop.example/static/js/main.3f9a1c2b.js:2:1450)\n"
        "    at https://shop.example/static/js/vendor.5d2c91af.js:1:8812\n"
    )
    assert _frames(trace) == ("javascript", [
        ("js/main.js", "cartTotal"), ("js/main.js", "HTMLButtonElement.onClick"),
        ("js/vendor.js", "<anonymous>"),
    ])  # fmt: skip
    kind, message = "TypeError", "Cannot read properties of undefined (reading 'total')"
    assert fingerprint_parts(kind, message, trace)[0] == "frames"
    redeployed = trace.replace("https://shop.example", "https://cdn.example:8443").replace(
        "3f9a1c2b", "77aa01ce"
    )
    assert fingerprint(1, kind, message, redeployed) == fingerprint(1, kind, message, trace)


def test_a_java_chain_reads_as_print_stack_trace_prints_it() -> None:
    """The thrown exception first (qualified), ``\\tat`` frames, then ``Caused by:``; the
    parser reads the thrown exception's frames and the cause's type."""
    trace = _text_of(JAVA_EVENT)
    assert trace == (
        "com.acme.shop.CheckoutException: cart 42 unavailable\n"
        "\tat com.acme.shop.CartService.checkout(CartService.java:42)\n"
        "\tat com.acme.shop.CartController.checkout(CartController.java:58)\n"
        "\tat java.lang.Thread.run(Thread.java:1583)\n"
        "Caused by: java.sql.SQLException: connection reset\n"
        "\tat com.acme.shop.CartRepository.load(CartRepository.java:31)\n"
    )
    assert _frames(trace) == ("java", [
        ("com.acme.shop.CartService", "checkout"), ("com.acme.shop.CartController", "checkout"),
        ("java.lang.Thread", "run"),
    ])  # fmt: skip
    parsed = parse_stack(trace)
    assert parsed is not None
    assert parsed.chain == ("java.sql.SQLException",)


def test_a_go_error_reads_as_a_goroutine_trace() -> None:
    """``package.Function(...)`` and a tab-indented ``file.go:line``, raise site first."""
    trace = _text_of(GO_EVENT)
    assert trace == (
        "*errors.errorString: card declined\n"
        "github.com/acme/shop/cart.(*Cart).Checkout(...)\n\t/app/cart/cart.go:57\n"
        "main.main(...)\n\t/app/main.go:30\n"
    )
    assert _frames(trace) == ("go", [
        ("github.com/acme/shop/cart", "(*Cart).Checkout"), ("main", "main"),
    ])  # fmt: skip


def test_other_platforms_fall_back_to_frame_lines_any_function_name_survives() -> None:
    """.NET frames (function names with spaces and parentheses) in the fallback layout: no
    Python header, and every frame is read back for grouping."""
    trace = _text_of(DOTNET_EVENT)
    assert not trace.startswith("Traceback")
    assert trace.endswith("System.InvalidOperationException: Sequence contains no elements\n")
    assert _frames(trace)[1] == [
        ("Acme.Shop/CartService.cs", "decimal CartService.Total(Cart cart)"),
        ("Acme.Shop/CartController.cs", "void CartController.Checkout(int id)"),
    ]


def test_the_structured_chain_keeps_frames_without_variables() -> None:
    """``exception`` keeps Sentry's values (absolute path as file name, context lines) but
    not frame variables; ingest's bounds accept it as our own SDK's."""
    frame = {"filename": "shop/db.py", "abs_path": "/app/shop/db.py", "function": "get",
             "module": "shop.db", "lineno": 3, "in_app": True, "context_line": "x()",
             "pre_context": ["a"], "post_context": ["b"],
             "vars": {"password": "hunter2"}}  # fmt: skip
    values = [{"type": "KeyError", "value": "'a'", "stacktrace": {"frames": [frame]}}]
    checked = checked_exception(structured(values))
    assert checked is not None
    [kept] = checked["values"][0]["stacktrace"]["frames"]
    assert (kept["filename"], kept["context_line"], kept["pre_context"]) == (
        "/app/shop/db.py", "x()", ["a"]
    )  # fmt: skip
    assert "vars" not in kept
