"""The SDK and the application's stdlib ``logging``: no shared lock, no stray output."""

from __future__ import annotations

import logging
import subprocess
import sys
import textwrap
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from sdk_helpers import WAIT, eventually, messages

from tracehub import TraceHubLogger
from tracehub.testing import LocalReceiver


@contextmanager
def logging_module_lock_held() -> Iterator[None]:
    """Hold ``logging``'s module lock on another thread for the duration of the block."""
    held, release = threading.Event(), threading.Event()

    def hold() -> None:
        with logging._lock:  # type: ignore[attr-defined]  # what dictConfig/shutdown hold
            held.set()
            release.wait(WAIT * 2)

    holder = threading.Thread(target=hold, name="holds-logging-lock", daemon=True)
    holder.start()
    assert held.wait(WAIT)
    try:
        yield
    finally:
        release.set()
        holder.join(WAIT)


def test_worker_delivers_while_another_thread_holds_the_logging_lock(
    rx: LocalReceiver, make_logger: Callable[..., TraceHubLogger]
) -> None:
    """Level caches cleared (as dictConfig does) and the module lock held: still delivered."""
    logger = make_logger()
    logger.info("before")
    assert logger.flush(WAIT)
    # Any setLevel clears every logger's isEnabledFor cache, like dictConfig.
    logging.getLogger("tests.sdk.clear-caches").setLevel(logging.INFO)
    with logging_module_lock_held():
        logger.info("while the lock is held")
        assert logger.flush(5.0)
        assert eventually(lambda: "while the lock is held" in messages(rx.entries), 5.0)


def test_worker_starts_and_delivers_while_another_thread_holds_the_logging_lock(
    rx: LocalReceiver, make_logger: Callable[..., TraceHubLogger]
) -> None:
    """The first send (client creation, HTTP stack already imported) needs no logging lock."""
    logger = make_logger()
    logging.getLogger("tests.sdk.clear-caches").setLevel(logging.INFO)
    with logging_module_lock_held():
        logger.info("first entry")
        assert logger.flush(5.0)
        assert eventually(lambda: "first entry" in messages(rx.entries), 5.0)


def test_http_loggers_stay_enabled_for_the_application(
    rx: LocalReceiver, make_logger: Callable[..., TraceHubLogger]
) -> None:
    """Quieting httpx on SDK threads leaves the app's own httpx logging as configured."""
    import httpx

    logger = make_logger()
    logger.info("start the worker")
    assert logger.flush(WAIT)
    httpx_logger = logging.getLogger("httpx")
    records: list[logging.LogRecord] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    handler = Collect()
    old_level = httpx_logger.level
    httpx_logger.addHandler(handler)
    httpx_logger.setLevel(logging.INFO)
    try:
        logger.info("shipped by the SDK")
        assert logger.flush(WAIT)
        sdk_requests = len(records)
        httpx.get(rx.url + "/health", trust_env=False)  # the app's own request
    finally:
        httpx_logger.removeHandler(handler)
        httpx_logger.setLevel(old_level)
    assert sdk_requests == 0
    assert len(records) == 1
    assert "/health" in records[0].getMessage()


_SENTRY_SCRIPT = textwrap.dedent(
    """
    import logging
    import sentry_sdk
    from tracehub import TraceHubLogger
    from tracehub.testing import LocalReceiver

    # Tracing on: sentry-sdk's httpx integration wraps every request, ours included, and
    # logs a debug line from inside the wrapper on the thread that sends.
    sentry_sdk.init(dsn="http://public@127.0.0.1:9/1", traces_sample_rate=1.0)
    with LocalReceiver() as rx:
        logger = TraceHubLogger(
            api_key="k", service="s", environment="e", endpoint=rx.url, dlq_path=None
        )
        with sentry_sdk.start_transaction(name="app"):
            logger.info("before")
            assert logger.flush(5)
            logging.getLogger("clear-caches").setLevel(logging.INFO)
            with logging._lock:
                logger.info("while the lock is held")
                print("delivered" if logger.flush(5) else "blocked")
        logger.close()
    """
)


def test_worker_delivers_under_sentry_sdk_while_the_logging_lock_is_held() -> None:
    """An app that also runs sentry-sdk (its httpx integration traces our requests): the
    delivery thread still never waits on logging's lock (a process of its own: sentry_sdk.init
    patches httpx for the whole process)."""
    result = subprocess.run(
        [sys.executable, "-c", _SENTRY_SCRIPT],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert result.stdout.strip() == "delivered", result.stderr


_UNREACHABLE_SCRIPT = textwrap.dedent(
    """
    import logging, socket, sys
    from tracehub import TraceHubLogger

    if sys.argv[1] == "configured":
        logging.basicConfig(level=logging.WARNING, format="%(name)s: %(message)s")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    logger = TraceHubLogger(
        api_key="k", service="s", environment="e", endpoint=f"http://127.0.0.1:{port}",
        dlq_path=None, max_retries=0, close_timeout=2.0,
    )
    logger.info("nobody listens")
    logger.flush(timeout=5)
    """
)


def _run_unreachable(mode: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", _UNREACHABLE_SCRIPT, mode],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )


def test_diagnostics_print_nothing_when_the_app_configured_no_logging() -> None:
    """An unreachable server and no logging configuration: stderr stays empty, even at exit."""
    result = _run_unreachable("unconfigured")
    assert result.stderr == ""
    assert result.stdout == ""


def test_diagnostics_reach_a_handler_the_app_configured() -> None:
    """With basicConfig, the same problem is reported through the tracehub logger."""
    result = _run_unreachable("configured")
    assert "tracehub: could not reach" in result.stderr
