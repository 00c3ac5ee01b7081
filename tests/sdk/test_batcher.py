"""BatchWorker over real HTTP: when it sends, dead-lettering, replay, restarts."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest
from sdk_helpers import WAIT, eventually, messages

from tracehub import TraceHubLogger
from tracehub.models import SendResult
from tracehub.pacing import PROBE_INTERVAL_CAP
from tracehub.testing import LocalReceiver, MemoryTransport
from tracehub.transport import Transport

MakeLogger = Callable[..., TraceHubLogger]


def _dlq_entries(dlq_dir: Path) -> list[dict]:
    return [
        json.loads(line)
        for path in sorted(dlq_dir.glob("*.jsonl"))
        for line in path.read_text().splitlines()
    ]


def test_reaching_batch_size_sends_at_once(rx: LocalReceiver, make_logger: MakeLogger) -> None:
    """batch_size waiting entries are sent without waiting for flush_interval."""
    logger = make_logger(batch_size=5, flush_interval=3600)
    for i in range(5):
        logger.info(str(i))
    assert messages(rx.wait_for(5, WAIT)) == ["0", "1", "2", "3", "4"]


def test_flush_interval_sends_a_partial_batch(rx: LocalReceiver, make_logger: MakeLogger) -> None:
    """A single entry goes out within flush_interval, without flush()."""
    logger = make_logger(batch_size=1000, flush_interval=0.05)
    logger.info("lonely")
    assert messages(rx.wait_for(1, WAIT)) == ["lonely"]


def test_rejected_batch_goes_to_the_dlq_and_is_reported_once(
    rx: LocalReceiver, make_logger: MakeLogger, dlq_dir: Path, caplog
) -> None:
    """A 400 is not retried: the batch is dead-lettered and the error logged once."""
    rx.respond_with(400, body=b'{"error": "bad batch"}', times=2)
    logger = make_logger()
    logger.info("refused 1")
    assert logger.flush(WAIT)
    logger.info("refused 2")
    assert logger.flush(WAIT)
    assert len(rx.requests) == 2
    assert sorted(messages(_dlq_entries(dlq_dir))) == ["refused 1", "refused 2"]
    assert logger.stats().dead_lettered == 2
    logger.close()
    reports = [r for r in caplog.records if r.name == "tracehub" and "400" in r.getMessage()]
    assert len(reports) == 1
    assert "bad batch" in reports[0].getMessage()


def test_server_down_then_a_new_logger_replays_exactly_once(
    rx: LocalReceiver, make_logger: MakeLogger, dlq_dir: Path, dead_url: str
) -> None:
    """Undeliverable entries land in the DLQ; the next logger replays them once, ids kept."""
    down = make_logger(endpoint=dead_url, max_retries=1)
    for i in range(3):
        down.info(f"offline {i}")
    assert down.flush(WAIT)
    down.close()
    saved = _dlq_entries(dlq_dir)
    assert messages(saved) == ["offline 0", "offline 1", "offline 2"]

    up = make_logger()
    up.info("online")
    got = rx.wait_for(4, WAIT)
    assert eventually(lambda: up.stats().replayed == 3)
    up.close()
    replayed = [e for e in got if e["message"].startswith("offline")]
    assert sorted(e["event_id"] for e in replayed) == sorted(e["event_id"] for e in saved)
    assert len(rx.entries) == 4
    assert up.stats().replayed == 3
    assert not list(dlq_dir.iterdir())


def test_two_loggers_sharing_a_dlq_replay_each_file_once(
    rx: LocalReceiver, make_logger: MakeLogger, dlq_dir: Path, dead_url: str
) -> None:
    """Two loggers replaying one directory concurrently deliver every entry exactly once."""
    down = make_logger(endpoint=dead_url, max_retries=0)
    for batch in range(20):
        down.info(f"saved {batch}")
        down.flush(WAIT)
    down.close()
    assert len(list(dlq_dir.glob("*.jsonl"))) >= 2

    first, second = make_logger(), make_logger()
    start = threading.Barrier(2)

    def go(logger: TraceHubLogger) -> None:
        start.wait(WAIT)
        logger.info("kick")

    threads = [threading.Thread(target=go, args=(lg,)) for lg in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(WAIT)
    rx.wait_for(22, WAIT)
    first.close()
    second.close()
    saved = [m for m in messages(rx.entries) if m.startswith("saved")]
    assert sorted(saved) == sorted(f"saved {i}" for i in range(20))
    assert not list(dlq_dir.glob("*.jsonl"))


def test_a_corrupt_dlq_file_is_skipped_and_the_rest_replayed(
    rx: LocalReceiver, make_logger: MakeLogger, dlq_dir: Path, dead_url: str, caplog
) -> None:
    """Corrupt lines and files are reported, never fatal; good entries still replay."""
    down = make_logger(endpoint=dead_url, max_retries=0)
    down.info("good")
    down.flush(WAIT)
    down.close()
    (dlq_dir / "00000000000000000001-1-aaaa.jsonl").write_bytes(b"\x00\xffnot json\n[1,2]\n")
    good_file = next(p for p in dlq_dir.glob("*.jsonl") if "aaaa" not in p.name)
    good_file.write_bytes(good_file.read_bytes() + b"{broken\n")

    logger = make_logger()
    logger.info("live")
    assert sorted(messages(rx.wait_for(2, WAIT))) == ["good", "live"]
    logger.close()
    assert any("corrupt" in r.getMessage() for r in caplog.records if r.name == "tracehub")


def test_outage_then_recovery_replays_the_dead_letters(
    rx: LocalReceiver, make_logger: MakeLogger
) -> None:
    """Entries dead-lettered during a 503 outage are replayed once the server answers.

    The 503 pauses delivery; an entry logged while the pause lasts (a loaded machine stretches
    it) is dead-lettered too. Either way each entry arrives once, every dead letter replayed.
    """
    rx.respond_with(503, times=3)
    logger = make_logger(max_retries=2)
    logger.info("during outage")
    assert logger.flush(WAIT)
    assert logger.stats().dead_lettered == 1
    logger.info("after outage")
    got = rx.wait_for(2, WAIT)
    assert sorted(messages(got)) == ["after outage", "during outage"]

    def all_replayed() -> bool:
        stats = logger.stats()
        return stats.replayed == stats.dead_lettered and stats.sent + stats.replayed == 2

    assert eventually(all_replayed), logger.stats()
    assert 1 <= logger.stats().dead_lettered <= 2


class _DiesOnce(Transport):
    """A transport whose first send kills the worker thread (SystemExit), then works."""

    def __init__(self) -> None:
        self.calls = 0
        self.delivered: list[bytes] = []

    def send(self, batch: Sequence[bytes], *, deadline: float | None = None) -> SendResult:
        self.calls += 1
        if self.calls == 1:
            raise SystemExit("worker killed")
        self.delivered.extend(batch)
        return SendResult(delivered=len(batch))


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_a_dead_worker_is_restarted_and_its_batch_kept(tmp_path: Path) -> None:
    """If the worker thread dies, its batch is dead-lettered and the next call restarts it."""
    transport = _DiesOnce()
    logger = TraceHubLogger(
        api_key="k", service="s", environment="e", transport=transport,
        flush_interval=0.05, dlq_path=tmp_path, retry_backoff=0.01,
    )  # fmt: skip
    logger.info("lost with the thread?")
    first_thread = None
    for _ in range(200):
        first_thread = logger._worker.thread
        if transport.calls and first_thread is not None and not first_thread.is_alive():
            break
        threading.Event().wait(0.02)
    assert logger.stats().dead_lettered == 1
    logger.info("after restart")
    assert logger.flush(WAIT)
    assert logger._worker.thread is not first_thread
    assert b"after restart" in b"".join(transport.delivered)
    logger.close()


def test_a_transport_that_raises_is_treated_as_undelivered(
    make_logger: MakeLogger, dlq_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """send() raising (against the contract) dead-letters the batch and reports the bug."""

    def broken(_entries: list[dict]) -> SendResult:
        raise ValueError("transport bug")

    logger = make_logger(transport=MemoryTransport(broken))
    logger.info("kept")
    assert logger.flush(WAIT)
    assert messages(_dlq_entries(dlq_dir)) == ["kept"]
    assert (logger.stats().dead_lettered, logger.stats().lost) == (1, 0)
    logger.close()
    assert any("transport bug" in r.getMessage() for r in caplog.records if r.name == "tracehub")


def test_a_down_endpoint_is_probed_again_within_the_probe_cap(
    rx: LocalReceiver, make_logger: MakeLogger
) -> None:
    """After failures with max_backoff 30 s, delivery resumes once the server is back."""
    rx.down()
    logger = make_logger(retry_backoff=0.5, max_backoff=30.0, max_retries=0)
    for i in range(5):
        logger.info(f"outage {i}")
        assert logger.flush(WAIT)
    assert logger._worker.pause_left() <= PROBE_INTERVAL_CAP
    rx.up()
    logger.info("back")
    assert "back" in messages(rx.wait_for(6, WAIT))
