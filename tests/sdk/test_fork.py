"""fork(): the child gets a fresh worker, locks and connection; the parent is unaffected."""

from __future__ import annotations

import os
import signal
import ssl
import threading
import time
from collections.abc import Callable

import pytest
from sdk_helpers import WAIT, messages

from tracehub import TraceHubLogger
from tracehub.testing import LocalReceiver, MemoryTransport

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")


def _wait_child(pid: int, timeout: float = WAIT) -> int:
    """Exit status of ``pid``; kill it and fail if it does not finish in time."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        time.sleep(0.002)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    pytest.fail("forked child hung")


def _fork(child: Callable[[], bool]) -> int:
    pid = os.fork()
    if pid == 0:  # child: never return into pytest
        code = 1
        try:
            code = 0 if child() else 2
        finally:
            os._exit(code)
    return pid


def test_child_logs_arrive_and_parent_is_unaffected(
    rx: LocalReceiver, make_logger: Callable[..., TraceHubLogger]
) -> None:
    """After fork both processes deliver their own entries; nothing is sent twice."""
    logger = make_logger(flush_interval=60, batch_size=1000)
    logger.info("parent before fork")  # buffered in the parent at fork time
    parent_worker = logger._worker.thread

    def child() -> bool:
        logger.info("from child")
        return logger.flush(WAIT) and logger.stats().enqueued == 1

    assert _wait_child(_fork(child)) == 0
    logger.info("parent after fork")
    assert logger.flush(WAIT)
    got = rx.wait_for(3, WAIT)
    assert sorted(messages(got)) == ["from child", "parent after fork", "parent before fork"]
    pids = {e["message"]: e["pid"] for e in got}
    assert pids["from child"] != os.getpid()
    assert pids["parent after fork"] == os.getpid()
    assert logger._worker.thread is parent_worker


def test_child_does_not_hang_on_locks_held_at_fork_time(
    rx: LocalReceiver, make_logger: Callable[..., TraceHubLogger]
) -> None:
    """Forking while the parent's worker is mid-request and holding its locks is safe."""
    logger = make_logger()
    rx.respond_with(202, delay=1.0)
    logger.info("slow")
    rx.wait_for_requests(1, WAIT)  # the parent's worker is now blocked in a request
    logger._buffer._cond.acquire()  # and a buffer lock is held at fork time
    try:
        pid = _fork(lambda: (logger.info("child ok"), logger.flush(WAIT))[1])
    finally:
        logger._buffer._cond.release()
    assert _wait_child(pid) == 0
    assert "child ok" in messages(rx.wait_for(2, WAIT))


def test_logger_constructed_before_fork_starts_threads_only_in_users(
    rx: LocalReceiver, make_logger: Callable[..., TraceHubLogger]
) -> None:
    """A pre-fork master that only constructs the logger has no worker; the child starts one."""
    logger = make_logger()
    assert logger._worker.thread is None

    def child() -> bool:
        logger.info("worker in child")
        return logger.flush(WAIT) and logger._worker.thread is not None

    assert _wait_child(_fork(child)) == 0
    assert logger._worker.thread is None
    assert messages(rx.wait_for(1, WAIT)) == ["worker in child"]


def test_a_transport_with_only_send_and_close_survives_fork(
    make_logger: Callable[..., TraceHubLogger],
) -> None:
    """The worker is re-armed in the child even though the transport has no fork hook."""
    transport = MemoryTransport()
    logger = make_logger(transport=transport)
    logger.info("parent")
    assert logger.flush(WAIT)

    def child() -> bool:
        logger.info("child")
        delivered = logger.flush(WAIT) and "child" in messages(transport.entries)
        return delivered and logger.stats().enqueued == 1

    assert _wait_child(_fork(child)) == 0


#: Forks of the start-up test, spread evenly over FORK_DELAY_MAX after the first log call.
FORK_TRIALS = 250
FORK_DELAY_MAX = 0.005


def test_forking_at_any_moment_of_the_worker_start_up_leaves_a_working_child(
    rx: LocalReceiver,
) -> None:
    """Fork 0-5 ms after a new logger's first call, 250 times: every child delivers."""
    failed: list[tuple[int, float]] = []
    for trial in range(FORK_TRIALS):
        delay = FORK_DELAY_MAX * trial / FORK_TRIALS
        logger = TraceHubLogger(
            api_key="k", service="fork", environment="test", endpoint=rx.url,
            flush_interval=0.05, dlq_path=None,
        )  # fmt: skip
        logger.info("first")
        until = time.perf_counter() + delay
        while time.perf_counter() < until:
            pass
        pid = _fork(lambda lg=logger: (lg.info("child"), lg.flush(5.0))[1])
        try:
            if _wait_child(pid, timeout=8.0) != 0:
                failed.append((trial, delay))
        finally:
            logger.close(timeout=1)
        if len(failed) >= 3:
            break
    assert failed == []


def test_sdk_threads_never_build_a_tls_context(
    rx: LocalReceiver, make_logger: Callable[..., TraceHubLogger], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Sending, reconnecting and the child's first send reuse the context built at construction."""
    built_on: list[str] = []
    original = ssl.SSLContext.__new__

    def counting_new(cls: type[ssl.SSLContext], *args: object, **kwargs: object) -> ssl.SSLContext:
        built_on.append(threading.current_thread().name)
        return original(cls, *args, **kwargs)

    logger = make_logger(max_retries=0)
    monkeypatch.setattr(ssl.SSLContext, "__new__", counting_new)
    logger.info("before")
    assert logger.flush(WAIT)
    logger._worker.transport.reconnect()  # type: ignore[attr-defined]
    logger.info("after reconnect")
    assert logger.flush(WAIT)
    pid = _fork(lambda: (logger.info("child"), logger.flush(WAIT) and built_on == [])[1])
    assert _wait_child(pid) == 0  # the child checks its own list
    assert len(rx.wait_for(3, WAIT)) == 3
    assert built_on == []
