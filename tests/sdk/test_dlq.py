"""DeadLetterQueue on a real directory: atomic files, claims, bounds, corruption."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

from sdk_helpers import WAIT

from tracehub.dlq import CLAIM_MARK, STALE_CLAIM_SECONDS, DeadLetterQueue


def _entries(n: int, prefix: str = "e") -> list[bytes]:
    return [f'{{"message":"{prefix}{i}"}}'.encode() for i in range(n)]


def test_write_leaves_only_complete_files(tmp_path: Path) -> None:
    """A write produces one .jsonl file with every line and no temp file."""
    dlq = DeadLetterQueue(tmp_path / "d")
    assert dlq.write(_entries(3))
    (only,) = (tmp_path / "d").iterdir()
    assert only.suffix == ".jsonl"
    assert only.read_bytes().splitlines() == _entries(3)
    assert oct(only.stat().st_mode & 0o777) == "0o600"


def test_claim_is_exclusive_between_concurrent_queues(tmp_path: Path) -> None:
    """Several queues claiming one directory at once never get the same file."""
    writer = DeadLetterQueue(tmp_path)
    for i in range(30):
        writer.write(_entries(2, prefix=f"f{i}-"))
    claimed: list[bytes] = []
    lock = threading.Lock()

    def drain() -> None:
        dlq = DeadLetterQueue(tmp_path)
        while (claim := dlq.claim_next()) is not None:
            with lock:
                claimed.extend(claim.entries)
            dlq.complete(claim)

    threads = [threading.Thread(target=drain) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(WAIT)
    assert len(claimed) == 60
    assert len(set(claimed)) == 60
    assert list(tmp_path.iterdir()) == []


def test_corrupt_lines_are_skipped_and_counted(tmp_path: Path) -> None:
    """Binary junk, non-objects and broken JSON are skipped; valid lines survive."""
    (tmp_path / "00000000000000000001-1-x.jsonl").write_bytes(
        b'{"message":"ok"}\n\x00\xff\xfe\n[1]\n{"broken\n'
    )
    dlq = DeadLetterQueue(tmp_path)
    claim = dlq.claim_next()
    assert claim is not None
    assert claim.entries == [b'{"message":"ok"}']
    assert claim.corrupt_lines == 3
    assert dlq.discarded == 3


def test_size_bound_drops_the_oldest_file(tmp_path: Path) -> None:
    """Over max_bytes, the oldest pending files are deleted; the newest stays."""
    dlq = DeadLetterQueue(tmp_path, max_bytes=200)
    for i in range(5):
        dlq.write(_entries(5, prefix=f"b{i}-"))
    names = [p.read_bytes() for p in dlq.pending()]
    assert sum(len(n) for n in names) <= 200 or len(names) == 1
    assert b"b4-" in names[-1]
    assert dlq.discarded > 0


def test_release_returns_remaining_entries_to_pending(tmp_path: Path) -> None:
    """Releasing a claim with leftovers makes exactly those pending again."""
    dlq = DeadLetterQueue(tmp_path)
    dlq.write(_entries(4))
    claim = dlq.claim_next()
    assert claim is not None
    dlq.release(claim, claim.entries[2:])
    again = dlq.claim_next()
    assert again is not None
    assert again.entries == _entries(4)[2:]


def test_claims_of_dead_processes_are_recovered(tmp_path: Path) -> None:
    """A stale claim whose owner is gone becomes pending again."""
    dead_pid = 2**22 + 12345  # above the default pid_max: no such process
    stale = tmp_path / f"00000000000000000001-1-x.jsonl{CLAIM_MARK}{dead_pid}-abcd"
    stale.write_bytes(b'{"message":"orphan"}\n')
    old = time.time() - STALE_CLAIM_SECONDS - 5
    os.utime(stale, (old, old))
    claim = DeadLetterQueue(tmp_path).claim_next()
    assert claim is not None
    assert claim.entries == [b'{"message":"orphan"}']


def test_unwritable_directory_reports_and_returns_false(tmp_path: Path) -> None:
    """If dlq_path is a file, write() returns False instead of raising."""
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    assert DeadLetterQueue(blocker).write(_entries(1)) is False


def test_held_files_are_not_replayed_by_their_writer(tmp_path: Path) -> None:
    """hold=True keeps this queue from claiming its own refused batch; others may."""
    dlq = DeadLetterQueue(tmp_path)
    dlq.write(_entries(1), hold=True)
    assert dlq.claim_next() is None
    assert DeadLetterQueue(tmp_path).claim_next() is not None
