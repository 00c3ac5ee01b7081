"""The SDK under faults, against a real local server: every entry counted by sequence number.

Each scenario logs numbered entries at about 1,000/s into a small buffer (so pressure
builds within a second) while the server is stopped, hanging or throttling, then lets
it recover and checks that every number arrived exactly once and nothing was lost.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest
from sdk_helpers import WAIT, eventually, messages

from tracehub import TraceHubLogger
from tracehub.models import SendResult
from tracehub.testing import LocalReceiver, MemoryTransport

MakeLogger = Callable[..., TraceHubLogger]

#: Entries per scenario, and the logging pace (entries per second).
ENTRIES = 3_000
RATE = 1_000
#: A buffer this small overflows within a second unless entries move to disk. It is kept
#: large enough that one spill's fsync may take 0.75 s (three quarters of it fill at RATE
#: meanwhile): a busy CI disk took longer than the 0.225 s that a 300-entry buffer allowed,
#: and the buffer dropped entries -- the documented limit, not what these tests check.
SMALL_BUFFER = 1_000


def _log_numbered(logger: TraceHubLogger, count: int = ENTRIES, rate: int = RATE) -> None:
    """Log ``count`` entries carrying ``extra.seq`` at about ``rate`` per second."""
    step = max(rate // 20, 1)
    for seq in range(count):
        logger.info("numbered", extra={"seq": seq})
        if seq % step == step - 1:
            time.sleep(step / rate)


def _assert_each_once(rx: LocalReceiver, count: int = ENTRIES) -> None:
    """Every sequence number in 0..count-1 arrived exactly once."""
    seen = Counter(e["extra"]["seq"] for e in rx.wait_for(count, WAIT) if "extra" in e)
    assert sorted(seen) == list(range(count)), "lost entries"
    assert max(seen.values()) == 1, "duplicated entries"


def _sdk_reports(caplog: pytest.LogCaptureFixture, text: str) -> list[str]:
    found = (r.getMessage() for r in caplog.records if r.name == "tracehub")
    return [message for message in found if text in message]


def test_server_stopped_then_back_loses_nothing(rx: LocalReceiver, make_logger: MakeLogger) -> None:
    """Stopped while 1,500 entries are logged into a 300 buffer: all arrive once after restart."""
    rx.down()
    logger = make_logger(max_buffer=SMALL_BUFFER, timeout=1.0, retry_backoff=0.5, max_backoff=30)
    _log_numbered(logger)
    rx.up()
    _assert_each_once(rx)
    stats = logger.stats()
    assert (stats.lost, stats.dropped, stats.enqueued) == (0, 0, ENTRIES)
    assert stats.dead_lettered > 0


def test_hanging_server_loses_nothing(rx: LocalReceiver, make_logger: MakeLogger) -> None:
    """A server that accepts and never answers holds one batch, not the buffer: nothing dropped."""
    rx.hang()
    logger = make_logger(max_buffer=SMALL_BUFFER, timeout=1.0)
    _log_numbered(logger)
    rx.stop_hanging()
    _assert_each_once(rx)
    assert (logger.stats().lost, logger.stats().dropped) == (0, 0)


def test_429_with_retry_after_is_honoured_and_loses_nothing(
    rx: LocalReceiver, make_logger: MakeLogger
) -> None:
    """Three 429s with Retry-After: 1: no request inside a pause, entries spilled then replayed."""
    rx.respond_with(429, headers={"Retry-After": "1"}, times=3)
    logger = make_logger(max_buffer=SMALL_BUFFER)
    _log_numbered(logger)
    _assert_each_once(rx)
    requests = rx.requests
    for index, request in enumerate(requests[:-1]):
        if request.status == 429:
            assert requests[index + 1].received_at - request.received_at >= 0.9
    assert (logger.stats().lost, logger.stats().dropped) == (0, 0)


def test_without_a_dlq_losses_are_counted_by_reason_and_reported_once(
    make_logger: MakeLogger, dead_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """No dlq_path and no server: entries are lost as no_dlq, one report within the minute."""
    caplog.set_level(logging.WARNING, logger="tracehub")
    logger = make_logger(endpoint=dead_url, dlq_path=None, max_retries=0)
    for i in range(10):
        logger.info(f"a{i}")
    assert logger.flush(WAIT)
    assert eventually(lambda: _sdk_reports(caplog, "entries lost") != [])
    for i in range(10):
        logger.info(f"b{i}")
    assert logger.flush(WAIT)
    stats = logger.stats()
    assert (stats.lost, dict(stats.lost_by_reason)) == (20, {"no_dlq": 20})
    assert _sdk_reports(caplog, "entries lost") == [
        "10 entries lost (no_dlq=10); see stats().lost_by_reason"
    ]
    logger.close()
    assert _sdk_reports(caplog, "entries lost")[-1].startswith("10 entries lost (no_dlq=10)")


def test_an_unwritable_dlq_counts_dlq_write_failed(
    make_logger: MakeLogger, dead_url: str, tmp_path: Path
) -> None:
    """When the dead-letter directory cannot be written (disk full), losses say so."""
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    logger = make_logger(endpoint=dead_url, dlq_path=blocker / "dlq", max_retries=0)
    logger.info("nowhere to go")
    assert logger.flush(WAIT)
    assert dict(logger.stats().lost_by_reason) == {"dlq_write_failed": 1}


def test_entries_refused_in_a_202_are_counted_and_reported_once(
    rx: LocalReceiver, make_logger: MakeLogger, dlq_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """202 with one refused entry: sent 1, rejected 1 (lost as rejected), one report, no DLQ."""
    caplog.set_level(logging.WARNING, logger="tracehub")
    body = b'{"accepted": 1, "rejected": [{"index": 0, "error": "thread_id must be an integer"}]}'
    rx.respond_with(202, body=body, times=2)
    logger = make_logger(batch_size=1000, flush_interval=60)
    for round_ in range(2):
        logger.info(f"bad {round_}")
        logger.info(f"good {round_}")
        assert logger.flush(WAIT)
    stats = logger.stats()
    assert (stats.sent, stats.rejected, stats.dead_lettered) == (2, 2, 0)
    assert dict(stats.lost_by_reason) == {"rejected": 2}
    assert len(_sdk_reports(caplog, "thread_id must be an integer")) == 1
    assert not list(dlq_dir.glob("*.jsonl"))


def test_an_all_rejected_422_is_counted_not_dead_lettered(
    rx: LocalReceiver, make_logger: MakeLogger, dlq_dir: Path
) -> None:
    """422 with the per-entry body: rejected, not retried, not kept on disk."""
    rx.respond_with(422, body=b'{"accepted": 0, "rejected": [{"index": 0, "error": "no"}]}')
    logger = make_logger()
    logger.info("refused")
    assert logger.flush(WAIT)
    stats = logger.stats()
    assert (stats.sent, stats.rejected, stats.dead_lettered, stats.lost) == (0, 1, 0, 1)
    assert len(rx.requests) == 1


class _HangsOnce:
    """Implements only send and close; the first send blocks until released."""

    def __init__(self) -> None:
        self.inner = MemoryTransport()
        self.release = threading.Event()
        self.calls = 0

    def send(self, batch: Sequence[bytes], *, deadline: float | None = None) -> SendResult:
        self.calls += 1
        if self.calls == 1:
            self.release.wait(WAIT)
            return SendResult(delivered=len(batch))  # a late answer nobody counts
        return self.inner.send(batch)

    def close(self) -> None:
        self.release.set()


def test_a_hung_delivery_thread_is_replaced_and_its_entries_kept(
    make_logger: MakeLogger, caplog: pytest.LogCaptureFixture
) -> None:
    """The watchdog reports a send stuck past its limit, keeps it on disk, uses a new thread."""
    caplog.set_level(logging.WARNING, logger="tracehub")
    transport = _HangsOnce()
    logger = make_logger(transport=transport)
    logger._worker.supervisor.stall_after = 0.3
    logger.info("stuck")
    assert eventually(lambda: _sdk_reports(caplog, "made no progress") != [])
    logger.info("after")
    assert eventually(lambda: sorted(messages(transport.inner.entries)) == ["after", "stuck"])
    transport.release.set()
    assert logger.flush(WAIT)
    stats = logger.stats()
    assert (stats.sent, stats.replayed, stats.lost) == (1, 1, 0)
