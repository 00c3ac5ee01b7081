"""Trace ids under threads and asyncio, and caller-side error capture."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable

from sdk_helpers import WAIT

from tracehub import TraceHubLogger
from tracehub.enricher import (
    capture_error,
    clear_trace_id,
    get_trace_id,
    reset_trace_id,
    set_trace_id,
)
from tracehub.testing import LocalReceiver


def test_set_get_clear_and_reset() -> None:
    """set/get/clear work and reset restores the previous id."""
    clear_trace_id()
    outer = set_trace_id("outer")
    inner = set_trace_id("inner")
    assert get_trace_id() == "inner"
    reset_trace_id(inner)
    assert get_trace_id() == "outer"
    clear_trace_id()
    assert get_trace_id() == ""
    reset_trace_id(outer)


def test_a_new_thread_starts_without_a_trace_id() -> None:
    """A thread started while an id is set sees none."""
    token = set_trace_id("main")
    seen: list[str | None] = []
    thread = threading.Thread(target=lambda: seen.append(get_trace_id()))
    thread.start()
    thread.join(WAIT)
    reset_trace_id(token)
    assert seen == [""]


def test_concurrent_asyncio_tasks_keep_their_own_ids(
    rx: LocalReceiver, make_logger: Callable[..., TraceHubLogger]
) -> None:
    """Two interleaved tasks on one loop log with their own trace id, end to end."""
    logger = make_logger()

    async def request(name: str) -> None:
        set_trace_id(f"trace-{name}")
        for step in range(3):
            await asyncio.sleep(0)
            logger.info(f"{name}-{step}")

    async def main() -> None:
        await asyncio.gather(request("a"), request("b"))

    asyncio.run(main())
    assert logger.flush(WAIT)
    for entry in rx.entries:
        assert entry["trace_id"] == "trace-" + entry["message"][0]
    assert get_trace_id() == ""


def test_threads_log_with_their_own_ids(
    rx: LocalReceiver, make_logger: Callable[..., TraceHubLogger]
) -> None:
    """Threads that set different ids never see each other's."""
    logger = make_logger()

    def work(name: str) -> None:
        set_trace_id(name)
        for _ in range(50):
            logger.info(name)

    threads = [threading.Thread(target=work, args=(f"t{i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(WAIT)
    assert logger.flush(WAIT)
    assert len(rx.entries) == 200
    assert all(e["trace_id"] == e["message"] for e in rx.entries)


def test_capture_error_without_anything_is_none() -> None:
    """No exception and no overrides captures nothing."""
    assert capture_error(False, None, None, None) is None


def test_capture_error_accepts_stdlib_style_exc_info_tuples() -> None:
    """exc_info may be an exception or a (type, value, tb) tuple, like stdlib logging."""
    try:
        raise OSError("disk")
    except OSError as exc:
        as_tuple = capture_error((type(exc), exc, exc.__traceback__), None, None, None)
        as_exception = capture_error(exc, None, None, None)
    assert as_tuple == as_exception
    assert as_tuple is not None
    assert as_tuple[:2] == ("OSError", "disk")


def test_exception_whose_str_raises_is_still_captured() -> None:
    """An exception with a broken __str__ still yields a type and a trace."""

    class Nasty(Exception):
        def __str__(self) -> str:
            raise RuntimeError("nope")

    try:
        raise Nasty
    except Nasty as exc:
        info = capture_error(False, exc, None, None)
    assert info is not None
    assert info[0] == "Nasty"
    assert "Nasty" in (info[2] or "")
