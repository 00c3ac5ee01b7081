"""The SDK's own reporting: rate-limited, never on the caller's path, never re-entrant."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

import pytest
from sdk_helpers import WAIT, eventually

from tracehub import TraceHubLogger, _diagnostics
from tracehub.testing import LocalReceiver


def test_reports_from_application_threads_are_deferred(caplog: pytest.LogCaptureFixture) -> None:
    """report() on an app thread queues; flush_pending() on an SDK thread emits."""
    caplog.set_level(logging.WARNING, logger="tracehub")
    _diagnostics.report("k1", "deferred problem")
    assert "deferred problem" not in caplog.text
    with _diagnostics.sdk_internal():
        _diagnostics.flush_pending()
    assert "deferred problem" in caplog.text


def test_reports_are_rate_limited_per_key(caplog: pytest.LogCaptureFixture) -> None:
    """The same kind of problem is logged once per interval."""
    caplog.set_level(logging.WARNING, logger="tracehub")
    with _diagnostics.sdk_internal():
        for _ in range(5):
            _diagnostics.report("same", "repeated problem")
        _diagnostics.report("other", "different problem")
    assert caplog.text.count("repeated problem") == 1
    assert "different problem" in caplog.text


def test_is_sdk_internal_on_the_worker_thread(
    rx: LocalReceiver, make_logger: Callable[..., TraceHubLogger]
) -> None:
    """The worker thread is named tracehub-worker and counts as SDK-internal."""
    logger = make_logger()
    logger.info("start")
    assert logger.flush(WAIT)
    thread = logger._worker.thread
    assert thread is not None
    assert thread.name == _diagnostics.SDK_LOGGER_NAME + "-worker"
    assert not _diagnostics.is_sdk_internal()


class _Bridge(logging.Handler):
    """A naive stdlib->TraceHub bridge that only honours is_sdk_internal()."""

    def __init__(self, target: TraceHubLogger) -> None:
        super().__init__()
        self.target = target
        self.dropped = 0

    def emit(self, record: logging.LogRecord) -> None:
        if _diagnostics.is_sdk_internal():
            self.dropped += 1
            return
        self.target.log(record.levelname, record.getMessage(), module=record.name)


def test_diagnostics_through_a_bridge_do_not_loop_or_deadlock(
    rx: LocalReceiver, make_logger: Callable[..., TraceHubLogger]
) -> None:
    """With a bridge on the root logger, SDK reports are dropped and app records shipped."""
    rx.respond_with(500)  # one retry: the worker reports it through the stdlib logger
    logger = make_logger(max_retries=1)
    bridge = _Bridge(logger)
    root = logging.getLogger()
    root.addHandler(bridge)
    old_level = root.level
    root.setLevel(logging.INFO)
    try:
        logging.getLogger("app").warning("from the app")
        done = threading.Event()
        threading.Thread(target=lambda: (logger.flush(WAIT), done.set())).start()
        assert done.wait(WAIT)
        logging.getLogger("app").warning("second")
        assert logger.flush(WAIT)
    finally:
        root.removeHandler(bridge)
        root.setLevel(old_level)
    assert eventually(lambda: bridge.dropped > 0)
    shipped = [e["message"] for e in rx.entries]
    assert shipped == ["from the app", "second"]
    assert all(e.get("module") != "tracehub" for e in rx.entries)
