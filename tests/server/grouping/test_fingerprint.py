"""Fingerprints on real traces: the same bug groups, different bugs stay apart."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest

from tracehub_server.grouping.fingerprint import (
    GROUPING_VERSION,
    MAX_TITLE_CHARS,
    PREVIOUS_ALGORITHMS,
    fingerprint,
    title,
)

TRACES = Path(__file__).parent / "traces"


def _fp(name: str, error_type: str = "E", message: str = "m", project: int = 1) -> str:
    return fingerprint(project, error_type, message, (TRACES / name).read_text())


SAME_BUG = [
    # Different release paths, line numbers, ids and addresses; same code path.
    ("py_chained_a.txt", "py_chained_b.txt"),
    ("py_recursion_a.txt", "py_recursion_b.txt"),
    ("java_a.txt", "java_b.txt"),  # different CGLIB hash, JDK frames and lines
    ("node_a.txt", "node_b.txt"),  # different install dir, lines and columns
    ("browser_a.txt", "browser_b.txt"),  # different bundle hash
    ("go_a.txt", "go_b.txt"),  # different goroutine, args, pc and build dir
]
DIFFERENT_BUGS = [
    ("py_chained_a.txt", "py_other_path.txt"),  # reached through another endpoint
    ("py_chained_a.txt", "py_direct_cause.txt"),  # same raise site, different cause
    ("java_a.txt", "java_other_cause.txt"),  # same wrapper, different root cause
    ("node_a.txt", "node_other.txt"),
    ("go_a.txt", "go_other.txt"),
    ("py_chained_a.txt", "node_a.txt"),
]


@pytest.mark.parametrize(("a", "b"), SAME_BUG)
def test_same_bug_groups_together(a: str, b: str) -> None:
    """Two occurrences of one bug get one fingerprint, whatever their lines and ids."""
    assert _fp(a, message="order 1 at 0x1") == _fp(b, message="order 2 at 0x2")


@pytest.mark.parametrize(("a", "b"), DIFFERENT_BUGS)
def test_different_code_paths_stay_apart(a: str, b: str) -> None:
    """Different code paths or causes get different fingerprints."""
    assert _fp(a) != _fp(b)


def test_different_exception_types_stay_apart() -> None:
    """The same frames with another exception type are another issue."""
    assert _fp("py_chained_a.txt", "OrderNotFound") != _fp("py_chained_a.txt", "TimeoutError")


def test_projects_never_share_fingerprints() -> None:
    """The same bug in two projects is two issues."""
    assert _fp("go_a.txt", project=1) != _fp("go_a.txt", project=2)


def test_fingerprint_is_hex_sha256() -> None:
    """A fingerprint is 64 lowercase hex characters."""
    assert re.fullmatch(r"[0-9a-f]{64}", _fp("java_a.txt"))


DJANGO_PREFIX = """Traceback (most recent call last):
  File "/srv/app/.venv/lib/python3.12/site-packages/django/core/handlers/exception.py", line 55, in inner
    response = get_response(request)
  File "/srv/app/.venv/lib/python3.12/site-packages/django/core/handlers/base.py", line 197, in _get_response
    response = wrapped_callback(request, *callback_args, **callback_kwargs)
  File "/srv/app/.venv/lib/python3.12/site-packages/django/views/generic/base.py", line 104, in view
    return self.dispatch(request, *args, **kwargs)
  File "/srv/app/.venv/lib/python3.12/site-packages/rest_framework/views.py", line 509, in dispatch
    response = handler(request, *args, **kwargs)
  File "/srv/app/shop/common/middleware.py", line 30, in __call__
    return self.get_response(request)
"""  # noqa: E501 - a real traceback keeps its long lines


def _django_bug(i: int, line: int) -> str:
    return DJANGO_PREFIX + (
        f'  File "/srv/app/shop/feature{i}/views.py", line {line}, in handle_{i}\n'
        f"    result = helper_{i}(payload)\n"
        f'  File "/srv/app/shop/common/db.py", line {line + 7}, in run_query\n'
        f"    raise DatabaseError(sql)\n"
        f"shop.common.db.DatabaseError: query failed after {line}ms\n"
    )


def test_twenty_bugs_behind_one_framework_prefix_stay_twenty() -> None:
    """Twenty bugs sharing the framework frames and a helper are twenty issues, not fewer."""
    prints = {
        fingerprint(1, "DatabaseError", "query failed", _django_bug(i, 40)) for i in range(20)
    }
    assert len(prints) == 20


def test_each_of_the_twenty_bugs_groups_its_own_repeats() -> None:
    """Each of those bugs at other line numbers and durations still maps to its own issue."""
    for i in range(20):
        first = fingerprint(1, "DatabaseError", "query failed after 12ms", _django_bug(i, 40))
        again = fingerprint(1, "DatabaseError", "query failed after 99ms", _django_bug(i, 77))
        assert first == again


def test_no_stack_groups_by_type_and_normalised_message() -> None:
    """Without a trace, the error type and the normalised message decide."""
    a = fingerprint(1, "PaymentError", "card 4242 declined after 3.2s", None)
    b = fingerprint(1, "PaymentError", "card 1881 declined after 450ms", "not a trace")
    c = fingerprint(1, "PaymentError", "card 4242 expired", None)
    d = fingerprint(1, "RefundError", "card 4242 declined after 3.2s", None)
    assert a == b
    assert len({a, c, d}) == 3


def test_only_library_frames_fall_back_to_all_frames() -> None:
    """A trace with no application frame still groups, by its library frames."""
    lib = 'Traceback (most recent call last):\n  File "/usr/lib/python3.11/json/decoder.py", line {n}, in decode\n    x\njson.decoder.JSONDecodeError: bad\n'  # noqa: E501 - one traceback line per frame
    other = lib.replace("decode\n", "raw_decode\n")
    assert fingerprint(1, "E", "m", lib.format(n=1)) == fingerprint(1, "E", "m", lib.format(n=2))
    assert fingerprint(1, "E", "m", lib.format(n=1)) != fingerprint(1, "E", "m", other.format(n=1))


@pytest.mark.parametrize(
    ("error_type", "error_message", "message", "expected"),
    [
        ("KeyError", "'user_42'", None, "KeyError: 'user_42'"),
        ("ValueError", "bad id 17\nmore detail", None, "ValueError: bad id 17"),
        (None, None, "payment failed for order 991", "payment failed for order 991"),
        ("Boom", None, None, "Boom"),
        (None, None, None, "(no message)"),
    ],
)
def test_titles(
    error_type: str | None, error_message: str | None, message: str | None, expected: str
) -> None:
    """Titles are "Type: real first line" (never placeholders), with sensible fallbacks."""
    assert title(error_type, error_message, message) == expected


def test_long_titles_are_cut() -> None:
    """A title never exceeds its limit."""
    assert len(title("E" * 300, "word " * 500)) == MAX_TITLE_CHARS


async def test_concurrent_fingerprinting_is_consistent() -> None:
    """Fingerprinting from many threads at once gives the same answer as one at a time."""
    expected = [_fp(name) for name, _ in SAME_BUG]
    results = await asyncio.gather(
        *(asyncio.to_thread(lambda: [_fp(name) for name, _ in SAME_BUG]) for _ in range(8))
    )
    assert all(r == expected for r in results)


_HEAD_CASES = [
    # The message differs: same bug.
    'Traceback (most recent call last):\n  File "/app/a.py", line 3, in f\n    g()\n'
    "KeyError: 'user_1'",
    # A message that itself holds frame-like and chain-like lines.
    'Traceback (most recent call last):\n  File "/app/a.py", line 3, in f\n    g()\n'
    'ValueError: bad\n  File "/app/evil.py", line 1, in injected',
    'Traceback (most recent call last):\n  File "/app/a.py", line 3, in f\n    g()\n'
    "ValueError: bad\n\nDuring handling of the above exception, another exception occurred:\n\n"
    "nothing after it",
    # Chained, CRLF, no trailing message, not Python at all, over the parse limit.
    'Traceback (most recent call last):\n  File "/app/b.py", line 9, in h\n    x()\nOSError: e\n\n'
    "The above exception was the direct cause of the following exception:\n\n"
    'Traceback (most recent call last):\n  File "/app/c.py", line 2, in k\n    y()\n'
    "RuntimeError: r",
    'Traceback (most recent call last):\r\n  File "/app/a.py", line 3, in f\r\n    g()\r\nE: m',
    '  File "/app/a.py", line 3, in f',
    'File "not a frame"\nat com.shop.Cart.total(Cart.java:10)\nat com.shop.Api.get(Api.java:5)',
    'Traceback (most recent call last):\n  File "/app/a.py", line 3, in f\n' + "m" * 70_000,
]


_GROUP_TRACE = (
    "  + Exception Group Traceback (most recent call last):\n"
    '  |   File "/app/a.py", line 3, in f\n'
    "  |     raise ExceptionGroup('many', errs)\n"
    "  | ExceptionGroup: many (1 sub-exception)\n"
    "  +-+---------------- 1 ----------------\n"
    "    | Traceback (most recent call last):\n"
    '    |   File "/app/b.py", line 9, in g\n'
    "    |     raise KeyError(k)\n"
    "    | KeyError: 'k'\n"
    "    +------------------------------------\n"
)


@pytest.mark.parametrize("trace", [*_HEAD_CASES, _GROUP_TRACE])
@pytest.mark.parametrize("version", ["th1", GROUPING_VERSION])
def test_head_cache_gives_the_uncached_fingerprint(trace: str, version: str) -> None:
    """Looking a trace up by its head always equals fingerprinting the whole trace, under
    each version the digest computes."""
    from tracehub_server.grouping.fingerprint import _fingerprint

    compute = fingerprint if version == GROUPING_VERSION else PREVIOUS_ALGORITHMS[version]
    got = compute(1, "ValueError", "message", trace, None)
    _fingerprint.cache_clear()
    assert got == _fingerprint.__wrapped__(version, 1, "ValueError", "message", trace)


def test_messages_after_the_last_frame_share_one_cache_entry() -> None:
    """Traces differing only in their final message hit the same cached head."""
    from tracehub_server.grouping.fingerprint import _fingerprint_of_head

    base = 'Traceback (most recent call last):\n  File "/app/q.py", line 3, in f\n    g()\n'
    _fingerprint_of_head.cache_clear()
    prints = {fingerprint(5, "KeyError", None, base + f"KeyError: 'u{i}'") for i in range(50)}
    assert len(prints) == 1
    assert _fingerprint_of_head.cache_info().misses == 1
