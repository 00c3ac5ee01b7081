"""Crash hooks: real crashing subprocesses and in-process hooks against a local receiver."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tracehub import TraceHubLogger
from tracehub.integrations import unhandled
from tracehub.limits import MAX_MESSAGE_CHARS
from tracehub.testing import LocalReceiver

Delivered = Callable[[], list[dict[str, Any]]]

CRASHING_SCRIPT = textwrap.dedent(
    """
    import os, sys, threading
    from tracehub import TraceHubLogger

    # A hook that was there before: it must still run, and it exits at once (no atexit),
    # so the FATAL entry can only have arrived if the TraceHub hook flushed first.
    def previous_hook(exc_type, exc, tb):
        print("previous sys hook ran", flush=True)
        os._exit(3)

    sys.excepthook = previous_hook
    logger = TraceHubLogger(
        api_key="k", service="crashy", environment="test", endpoint=sys.argv[1],
        flush_interval=600, dlq_path=None,
    )
    logger.capture_unhandled()

    def doomed():
        raise LookupError("thread went down")

    worker = threading.Thread(target=doomed, name="doomed-thread")
    worker.start()
    worker.join()
    raise RuntimeError("top-level crash")
    """
)


def run_script(script: str, url: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """Run ``script`` from a file (so tracebacks show source) in a fresh interpreter."""
    path = tmp_path / "crashing_app.py"
    path.write_text(script)
    return subprocess.run(
        [sys.executable, str(path), url], capture_output=True, text=True, timeout=120
    )


def test_crashes_in_a_thread_and_at_top_level_arrive_as_fatal(
    receiver: LocalReceiver, tmp_path: Path
) -> None:
    """A subprocess crashing in a thread and then at top level ships both FATALs before dying."""
    result = run_script(CRASHING_SCRIPT, receiver.url, tmp_path)
    assert result.returncode == 3, result.stderr
    assert "previous sys hook ran" in result.stdout
    assert "LookupError: thread went down" in result.stderr  # the default thread hook printed
    entries = receiver.wait_for(2, timeout=30)
    by_type = {e["error_type"]: e for e in entries}
    assert set(by_type) == {"LookupError", "RuntimeError"}
    assert all(e["level"] == "FATAL" for e in entries)
    assert "doomed-thread" in by_type["LookupError"]["message"]
    assert 'raise LookupError("thread went down")' in by_type["LookupError"]["stack_trace"]
    assert 'raise RuntimeError("top-level crash")' in by_type["RuntimeError"]["stack_trace"]
    assert by_type["RuntimeError"]["service"] == "crashy"


def test_default_hooks_still_print_and_exit_nonzero(
    receiver: LocalReceiver, tmp_path: Path
) -> None:
    """With the stock hooks underneath, Python still prints the traceback and exits 1."""
    script = textwrap.dedent(
        """
        import sys
        from tracehub import TraceHubLogger
        logger = TraceHubLogger(api_key="k", service="s", environment="t", endpoint=sys.argv[1],
                                flush_interval=600, dlq_path=None)
        logger.capture_unhandled()
        raise ValueError("plain crash")
        """
    )
    result = run_script(script, receiver.url, tmp_path)
    assert result.returncode == 1
    assert "ValueError: plain crash" in result.stderr
    [entry] = receiver.wait_for(1, timeout=30)
    assert entry["level"] == "FATAL"
    assert entry["error_type"] == "ValueError"


@pytest.fixture
def hooks(th_logger: TraceHubLogger) -> Iterator[tuple[unhandled.UnhandledHooks, list[Any]]]:
    """Crash hooks installed in-process over recording hooks; everything restored after."""
    saved_sys, saved_threading = sys.excepthook, threading.excepthook
    calls: list[Any] = []
    sys.excepthook = lambda *args: calls.append(("sys", args[0]))
    threading.excepthook = lambda args: calls.append(("thread", args.exc_type))
    installed = unhandled.install(th_logger, flush_timeout=5)
    try:
        yield installed, calls
    finally:
        installed.uninstall()
        sys.excepthook, threading.excepthook = saved_sys, saved_threading


def test_install_is_idempotent_and_uninstall_restores(
    hooks: tuple[unhandled.UnhandledHooks, list[Any]], th_logger: TraceHubLogger
) -> None:
    """A second install returns the same handle; uninstall puts the previous hooks back."""
    installed, _ = hooks
    before_sys = sys.excepthook
    assert unhandled.install(th_logger) is installed
    assert th_logger.capture_unhandled() is installed
    assert sys.excepthook is before_sys
    previous_sys = installed._previous_sys
    installed.uninstall()
    assert sys.excepthook is previous_sys
    assert unhandled.install(th_logger) is not installed
    unhandled.install(th_logger).uninstall()


def test_sys_hook_logs_fatal_and_chains(
    hooks: tuple[unhandled.UnhandledHooks, list[Any]], delivered: Delivered
) -> None:
    """sys.excepthook logs FATAL with the trace, then calls the previous hook."""
    _, calls = hooks
    try:
        raise OSError("disk on fire")
    except OSError as exc:
        sys.excepthook(type(exc), exc, exc.__traceback__)
    assert calls == [("sys", OSError)]
    [entry] = delivered()
    assert entry["level"] == "FATAL"
    assert entry["error_type"] == "OSError"
    assert 'raise OSError("disk on fire")' in entry["stack_trace"]


def test_keyboard_interrupt_is_not_a_crash(
    hooks: tuple[unhandled.UnhandledHooks, list[Any]], delivered: Delivered
) -> None:
    """Ctrl-C reaching the top level is passed on without being logged."""
    _, calls = hooks
    sys.excepthook(KeyboardInterrupt, KeyboardInterrupt(), None)
    assert calls == [("sys", KeyboardInterrupt)]
    assert delivered() == []


def test_many_threads_crashing_at_once_are_all_reported(
    hooks: tuple[unhandled.UnhandledHooks, list[Any]], delivered: Delivered
) -> None:
    """Twenty threads dying together give twenty FATALs and twenty chained calls."""
    _, calls = hooks
    start = threading.Barrier(20, timeout=30)

    def die(n: int) -> None:
        start.wait()
        raise ValueError(f"thread {n} died")

    threads = [threading.Thread(target=die, args=(n,), name=f"t{n}") for n in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert calls.count(("thread", ValueError)) == 20
    messages = sorted(e["error_message"] for e in delivered())
    assert messages == sorted(f"thread {n} died" for n in range(20))


def test_hostile_and_oversized_exceptions_are_survived(
    hooks: tuple[unhandled.UnhandledHooks, list[Any]], delivered: Delivered
) -> None:
    """An exception whose __str__ raises, and a 1 MB message, are still reported."""

    class Unprintable(Exception):
        def __str__(self) -> str:
            raise RuntimeError("no")

    sys.excepthook(Unprintable, Unprintable(), None)
    sys.excepthook(ValueError, ValueError("x" * 1_000_000), None)
    entries = delivered()
    assert {e["error_type"] for e in entries} == {"Unprintable", "ValueError"}
    assert all(len(e["message"]) <= MAX_MESSAGE_CHARS for e in entries)


def test_asyncio_loop_handler_logs_and_chains(
    hooks: tuple[unhandled.UnhandledHooks, list[Any]], delivered: Delivered
) -> None:
    """Loop exceptions are FATAL, message-only contexts ERROR; the previous handler still runs."""
    installed, _ = hooks
    seen: list[str] = []
    loop = asyncio.new_event_loop()
    try:
        loop.set_exception_handler(lambda _loop, context: seen.append(context["message"]))
        installed.install_asyncio(loop)
        installed.install_asyncio(loop)  # idempotent
        loop.call_exception_handler({"message": "task blew up", "exception": KeyError("k")})
        loop.call_exception_handler({"message": "just a message"})
        installed.uninstall()
        loop.call_exception_handler({"message": "after uninstall"})
    finally:
        loop.close()
    assert seen == ["task blew up", "just a message", "after uninstall"]
    got = {e["message"].partition(":")[0]: e for e in delivered()}
    assert set(got) == {"task blew up", "just a message"}
    assert got["task blew up"]["level"] == "FATAL"
    assert got["task blew up"]["error_type"] == "KeyError"
    assert got["just a message"]["level"] == "ERROR"


async def test_install_inside_a_running_loop_covers_that_loop(
    th_logger: TraceHubLogger, delivered: Delivered
) -> None:
    """Installing from async code hooks the running loop, where a lost task error lands."""
    loop = asyncio.get_running_loop()
    saved = loop.get_exception_handler()
    loop.set_exception_handler(lambda _loop, _context: None)  # keep the test output quiet
    saved_sys, saved_threading = sys.excepthook, threading.excepthook
    installed = unhandled.install(th_logger)
    try:
        loop.call_exception_handler({"message": "lost task", "exception": ValueError("lost")})
    finally:
        installed.uninstall()
        loop.set_exception_handler(saved)
        sys.excepthook, threading.excepthook = saved_sys, saved_threading
    [entry] = delivered()
    assert entry["level"] == "FATAL"
    assert entry["module"] == "asyncio"
