"""Trace id resolution at the request edge: valid, malformed, oversized and hostile input."""

from __future__ import annotations

import os
import random
import re
import threading

import pytest

from tracehub.enricher import get_trace_id
from tracehub.integrations._trace import (
    asgi_trace_id,
    bind_trace_id,
    generate_trace_id,
    parse_traceparent,
    resolve_trace_id,
    trace_id_from_environ,
    unbind_trace_id,
    valid_trace_id,
)
from tracehub.limits import MAX_TRACE_ID_CHARS

W3C_TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
HEX32 = re.compile(r"[0-9a-f]{32}")
TRACEPARENT = f"00-{W3C_TRACE_ID}-00f067aa0ba902b7-01"


def test_generated_ids_are_w3c_trace_ids_and_unique() -> None:
    """Generated ids are 32 lowercase hex characters and do not repeat."""
    ids = {generate_trace_id() for _ in range(1000)}
    assert len(ids) == 1000
    assert all(re.fullmatch(r"[0-9a-f]{32}", i) for i in ids)


@pytest.mark.parametrize(
    "value",
    ["abc", "req-123", "a.b:c_d-e", "A" * MAX_TRACE_ID_CHARS, W3C_TRACE_ID],
)
def test_well_formed_client_ids_are_accepted(value: str) -> None:
    """Ids of 1-128 characters from [A-Za-z0-9._:-] are kept exactly as sent."""
    assert valid_trace_id(value) == value


@pytest.mark.parametrize(
    "value",
    [
        None,
        "",
        "A" * (MAX_TRACE_ID_CHARS + 1),
        "x" * 1_000_000,
        "abc\r\nSet-Cookie: a=b",
        "abc\n",
        "<script>alert(1)</script>",
        "id with spaces",
        "naïve",
        "abc\x00def",
        "../../etc/passwd",
        "a,b",
    ],
)
def test_malformed_or_hostile_client_ids_are_rejected(value: str | None) -> None:
    """Empty, oversized, control, markup, non-ASCII and separator characters are refused."""
    assert valid_trace_id(value) is None


def test_traceparent_yields_its_trace_id() -> None:
    """A valid W3C traceparent gives its 32-hex trace-id."""
    assert parse_traceparent(TRACEPARENT) == W3C_TRACE_ID


def test_future_traceparent_versions_may_carry_more_fields() -> None:
    """Versions after 00 may append fields; the trace-id is still read."""
    assert parse_traceparent(f"01-{W3C_TRACE_ID}-00f067aa0ba902b7-01-extra") == W3C_TRACE_ID


@pytest.mark.parametrize(
    "value",
    [
        None,
        "",
        "garbage",
        f"ff-{W3C_TRACE_ID}-00f067aa0ba902b7-01",
        f"00-{W3C_TRACE_ID}-00f067aa0ba902b7-01-extra",
        f"00-{'0' * 32}-00f067aa0ba902b7-01",
        f"00-{W3C_TRACE_ID}-{'0' * 16}-01",
        f"00-{W3C_TRACE_ID.upper()}-00f067aa0ba902b7-01",
        f"00-{W3C_TRACE_ID[:-1]}-00f067aa0ba902b7-01",
        f"00-{W3C_TRACE_ID}-00f067aa0ba902b7",
        f"01-{W3C_TRACE_ID}-00f067aa0ba902b7-01-" + "x" * 100_000,
    ],
)
def test_invalid_traceparents_are_ignored(value: str | None) -> None:
    """Version ff, extra fields on 00, zero ids, uppercase, short and huge headers are refused."""
    assert parse_traceparent(value) is None


def test_resolution_prefers_x_trace_id_then_traceparent_then_generates() -> None:
    """X-Trace-ID wins, an invalid one falls back to traceparent, then to a new id."""
    assert resolve_trace_id("mine", TRACEPARENT) == "mine"
    assert resolve_trace_id("bad id", TRACEPARENT) == W3C_TRACE_ID
    generated = resolve_trace_id("bad id", "bad")
    assert re.fullmatch(r"[0-9a-f]{32}", generated)


def test_asgi_headers_use_the_first_copy_and_reject_raw_bytes() -> None:
    """Raw ASGI headers: first X-Trace-ID wins; CRLF and high bytes are never accepted."""
    assert asgi_trace_id([(b"x-trace-id", b"one"), (b"x-trace-id", b"two")])[0] == "one"
    assert asgi_trace_id([(b"traceparent", TRACEPARENT.encode())])[0] == W3C_TRACE_ID
    hostile = [(b"x-trace-id", b"a\r\nb"), (b"traceparent", b"\xff\xfe" * 5000)]
    assert re.fullmatch(r"[0-9a-f]{32}", asgi_trace_id(hostile)[0])


def test_bind_and_unbind_restore_the_previous_id() -> None:
    """Unbinding restores whatever id was bound before, including none."""
    outer = bind_trace_id("outer")
    try:
        inner = bind_trace_id("inner")
        assert get_trace_id() == "inner"
        unbind_trace_id(inner)
        assert get_trace_id() == "outer"
    finally:
        unbind_trace_id(outer)
    assert get_trace_id() == ""


def test_resolution_is_safe_from_many_threads() -> None:
    """Concurrent resolution from 16 threads gives each caller its own id."""
    results: list[tuple[str, str]] = []
    lock = threading.Lock()

    def work(n: int) -> None:
        for i in range(200):
            sent = f"t{n}-{i}"
            got = resolve_trace_id(sent, None)
            with lock:
                results.append((sent, got))

    threads = [threading.Thread(target=work, args=(n,)) for n in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert len(results) == 16 * 200
    assert all(sent == got for sent, got in results)


@pytest.mark.parametrize(
    "value",
    [
        b"",
        b"A" * (MAX_TRACE_ID_CHARS + 1),
        b"x" * 1_000_000,
        b"abc\r\nSet-Cookie: a=b",
        b"<script>",
        b"id with spaces",
        "naïve".encode(),
        b"\xc3\xa9t\xc3\xa9",
        b"abc\x00def",
        b"a,b",
    ],
)
def test_hostile_raw_asgi_ids_are_replaced_by_a_generated_one(value: bytes) -> None:
    """The bytes fast path refuses what the str path refuses, including non-ASCII bytes."""
    resolved = asgi_trace_id([(b"x-trace-id", value)])[0]
    assert re.fullmatch(r"[0-9a-f]{32}", resolved)


@pytest.mark.parametrize("value", ["abc", "a.b:c_d-e", "A" * MAX_TRACE_ID_CHARS, W3C_TRACE_ID])
def test_raw_asgi_ids_accepted_exactly_as_the_str_path_accepts_them(value: str) -> None:
    """Alphanumeric ids (fast path) and ids with . _ : - (translate path) are kept as sent."""
    assert asgi_trace_id([(b"host", b"h"), (b"x-trace-id", value.encode())])[0] == value


def test_generating_ids_leaves_the_apps_random_sequence_alone() -> None:
    """A private generator: a seeded random.random() sequence is the same with ids in between."""
    random.seed(1234)
    expected = [random.random() for _ in range(5)]
    random.seed(1234)
    got = []
    for _ in range(5):
        generate_trace_id()
        resolve_trace_id(None, None)
        got.append(random.random())
    assert got == expected


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_forked_child_generates_different_ids_from_its_parent() -> None:
    """Reseeded and with the ids made ahead dropped, parent and child never repeat each other."""
    generate_trace_id()  # the parent now holds ids made ahead, which the child must not use
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: never return into pytest
        try:
            os.write(write_end, "".join(generate_trace_id() for _ in range(20)).encode())
        finally:
            os._exit(0)
    os.close(write_end)
    parent_ids = {generate_trace_id() for _ in range(20)}
    with os.fdopen(read_end, "rb") as pipe:
        data = pipe.read().decode()
    os.waitpid(pid, 0)
    child_ids = {data[i : i + 32] for i in range(0, len(data), 32)}
    assert len(child_ids) == 20
    assert not child_ids & parent_ids


def test_concurrent_generation_never_repeats() -> None:
    """16 threads generating 500 ids each get 8,000 distinct ids."""
    ids: list[str] = []

    def work() -> None:
        mine = [generate_trace_id() for _ in range(500)]
        ids.extend(mine)  # list.extend is atomic under the GIL

    threads = [threading.Thread(target=work) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert len(ids) == len(set(ids)) == 16 * 500


HOSTILE_IDS = [
    "",
    "A" * (MAX_TRACE_ID_CHARS + 1),
    "x" * 1_000_000,
    "abc\r\nSet-Cookie: a=b",
    "<script>",
    "naïve",
    "\uff41\uff42\uff43",  # full-width letters: isalnum() but not ASCII
    "abc\x00def",
    "a,b",
]
WELL_FORMED_IDS = ["abc", "req-123", "a.b:c_d-e", "A" * MAX_TRACE_ID_CHARS, W3C_TRACE_ID]


@pytest.mark.parametrize("x_trace_id", [None, *HOSTILE_IDS, *WELL_FORMED_IDS])
@pytest.mark.parametrize("traceparent", [None, TRACEPARENT, "00-zz-zz-01", "f" * 100_000])
def test_environ_resolution_matches_resolve_trace_id(
    x_trace_id: str | None, traceparent: str | None
) -> None:
    """The WSGI/Django fast path picks exactly what resolve_trace_id picks, hostile or not."""
    environ = {"HTTP_X_TRACE_ID": x_trace_id, "HTTP_TRACEPARENT": traceparent}
    environ = {k: v for k, v in environ.items() if v is not None}
    expected = resolve_trace_id(x_trace_id, traceparent)
    got = trace_id_from_environ(environ)
    if HEX32.fullmatch(expected) and expected not in (x_trace_id, W3C_TRACE_ID):
        assert HEX32.fullmatch(got)  # both generated a fresh id
    else:
        assert got == expected


@pytest.mark.parametrize("value", [b"abc", 123, ["abc"], None])
def test_environ_values_that_are_not_str_are_never_used(value: object) -> None:
    """A non-str X-Trace-ID in a broken environ is ignored, never echoed or bound."""
    assert HEX32.fullmatch(trace_id_from_environ({"HTTP_X_TRACE_ID": value}))


@pytest.mark.parametrize(
    "headers",
    [
        [],
        [(b"x-trace-id", b"one"), (b"x-trace-id", b"two")],
        [(b"x-trace-id", b"bad id"), (b"x-trace-id", b"good"), (b"traceparent", b"x")],
        [(b"traceparent", TRACEPARENT.encode()), (b"x-trace-id", b"\xff")],
        [(b"host", b"h")] * 1000 + [(b"x-trace-id", b"late")],
    ],
)
def test_asgi_id_comes_as_matching_str_and_bytes(headers: list[tuple[bytes, bytes]]) -> None:
    """asgi_trace_id's two forms are the same id."""
    trace_id, raw = asgi_trace_id(headers)
    assert raw == trace_id.encode("ascii")


def test_asgi_and_environ_resolution_are_safe_from_many_threads() -> None:
    """16 threads resolving their own ids concurrently each get back exactly their own."""
    mismatches: list[tuple[str, str, str]] = []

    def work(n: int) -> None:
        for i in range(200):
            sent = f"t{n}-{i}"
            by_environ = trace_id_from_environ({"HTTP_X_TRACE_ID": sent})
            by_asgi, _ = asgi_trace_id([(b"x-trace-id", sent.encode())])
            if by_environ != sent or by_asgi != sent:
                mismatches.append((sent, by_environ, by_asgi))

    threads = [threading.Thread(target=work, args=(n,)) for n in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert mismatches == []
