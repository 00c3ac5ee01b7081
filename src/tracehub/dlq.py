"""DeadLetterQueue: batches that could not be delivered, kept on disk for later.

Layout of ``dlq_path`` (one directory, possibly shared by several processes):

* ``<time_ns>-<pid>-<token>.jsonl`` — a pending batch, one encoded entry per line.
  Written to ``.tmp-…`` first, fsynced, then renamed: a crash never leaves half a batch.
* ``….jsonl.claim-<pid>-<token>`` — a batch being replayed. Claiming is an atomic
  rename, so when several processes replay the same directory exactly one wins each
  file. A claim whose process is gone is returned to pending after
  :data:`STALE_CLAIM_SECONDS`.

The directory is bounded by ``max_bytes`` (default 64 MiB): after a write, the oldest
pending files are deleted with a warning. A corrupt line (or a whole unreadable file)
is skipped and reported, never fatal. Replayed entries are the original bytes, so
they keep their ``event_id`` and the server can drop duplicates.
"""

from __future__ import annotations

import json
import os
import secrets
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import orjson

from tracehub import _diagnostics

__all__ = ["Claim", "DeadLetterQueue"]

SUFFIX = ".jsonl"
CLAIM_MARK = ".claim-"
TMP_PREFIX = ".tmp-"
#: Age after which a claim held by a dead process (or a leftover temp file) is recovered.
STALE_CLAIM_SECONDS = 60.0
#: Largest file read back (a bigger one is not a batch this SDK wrote).
MAX_FILE_BYTES = 64 * 1024 * 1024


@dataclass
class Claim:
    """A dead-letter file this process owns until it completes or releases it."""

    path: Path
    entries: list[bytes]
    corrupt_lines: int = 0


class DeadLetterQueue:
    """Atomic, bounded, multi-process-safe store of undelivered batches."""

    def __init__(self, path: Path, *, max_bytes: int = 64 * 1024 * 1024) -> None:
        self.path = Path(path)
        self.max_bytes = max_bytes
        self._lock = threading.Lock()
        #: Entries deleted to respect ``max_bytes`` (lost reason ``dlq_full``).
        self.evicted = 0
        #: Corrupt lines skipped on replay (lost reason ``dlq_corrupt``).
        self.corrupt = 0
        # Files this process wrote with ``hold=True``: refused batches that only a later
        # process (say, after an API key fix) should replay.
        self._held: set[str] = set()

    def reset_after_fork(self) -> None:
        """Fresh lock for the child (the parent may have held it at fork time)."""
        self._lock = threading.Lock()
        self.evicted = self.corrupt = 0
        self._held = set()

    @property
    def discarded(self) -> int:
        """Entries deleted to respect ``max_bytes`` or skipped as corrupt."""
        return self.evicted + self.corrupt

    # -- writing ---------------------------------------------------------------------

    def write(self, entries: Sequence[bytes], *, hold: bool = False) -> bool:
        """Persist ``entries`` as one new file; False (and a report) when that fails.

        ``hold`` keeps this process from replaying the file (another process may).
        """
        if not entries:
            return True
        name = f"{time.time_ns():020d}-{os.getpid()}-{secrets.token_hex(4)}{SUFFIX}"
        data = b"\n".join(entries) + b"\n"
        with self._lock:
            try:
                self.path.mkdir(parents=True, exist_ok=True, mode=0o700)
                self._write_atomically(self.path / name, data)
                if hold:
                    self._held.add(name)
            except OSError as exc:
                _diagnostics.report(
                    "dlq-write", f"could not write dead-letter file in {self.path}: {exc}"
                )
                return False
            self._enforce_bound()
        return True

    def _write_atomically(self, final: Path, data: bytes) -> None:
        tmp = final.with_name(TMP_PREFIX + final.name)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, final)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise

    def _enforce_bound(self) -> None:
        files = self._pending_with_sizes()
        total = sum(size for _, size in files)
        for path, size in files:
            if total <= self.max_bytes or len(files) <= 1:
                break
            lines = _count_lines(path)
            try:
                path.unlink()
            except FileNotFoundError:
                continue  # another process claimed it meanwhile
            except OSError:
                continue
            total -= size
            self.evicted += lines
            _diagnostics.report(
                "dlq-bound",
                f"dead-letter queue over {self.max_bytes} bytes: "
                f"dropped oldest file {path.name} ({lines} entries)",
            )

    # -- reading ---------------------------------------------------------------------

    def pending(self) -> list[Path]:
        """Pending files, oldest first."""
        return [path for path, _ in self._pending_with_sizes()]

    def _pending_with_sizes(self) -> list[tuple[Path, int]]:
        try:
            scan = list(os.scandir(self.path))
        except OSError:
            return []
        found = []
        for item in scan:
            if item.name.endswith(SUFFIX) and not item.name.startswith("."):
                try:
                    found.append((Path(item.path), item.stat().st_size))
                except OSError:
                    continue
        found.sort(key=lambda pair: pair[0].name)
        return found

    def claim_next(self) -> Claim | None:
        """Claim the oldest pending file (atomic rename) and read it; None when empty."""
        self.recover_stale()
        for path in self.pending():
            if path.name in self._held:
                continue
            claimed = path.with_name(f"{path.name}{CLAIM_MARK}{os.getpid()}-{secrets.token_hex(4)}")
            try:
                os.rename(path, claimed)
            except OSError:
                continue  # another process won it, or it vanished
            return self._read(claimed)
        return None

    def _read(self, claimed: Path) -> Claim:
        try:
            with open(claimed, "rb") as handle:
                data = handle.read(MAX_FILE_BYTES + 1)
        except OSError as exc:
            _diagnostics.report("dlq-read", f"unreadable dead-letter file {claimed.name}: {exc}")
            return Claim(claimed, [], corrupt_lines=1)
        entries, corrupt = [], 0
        if len(data) > MAX_FILE_BYTES:
            data, corrupt = b"", 1
        for line in data.split(b"\n"):
            line = line.strip()
            if not line:
                continue
            try:
                valid = isinstance(orjson.loads(line), dict)
            except orjson.JSONDecodeError:
                # tracehub-logger 1.2.0 wrote its lines with json.dumps, NaN and Infinity
                # included; the server stores those, so such a line is not corrupt.
                try:
                    valid = isinstance(json.loads(line), dict)
                except (ValueError, RecursionError):
                    valid = False
            if valid:
                entries.append(line)
            else:
                corrupt += 1
        if corrupt:
            self.corrupt += corrupt
            _diagnostics.report(
                "dlq-corrupt",
                f"skipped {corrupt} corrupt line(s) in dead-letter file {claimed.name}",
            )
        return Claim(claimed, entries, corrupt)

    def complete(self, claim: Claim) -> None:
        """The claimed batch was delivered (or given up on): delete its file."""
        try:
            claim.path.unlink(missing_ok=True)
        except OSError as exc:
            _diagnostics.report("dlq-delete", f"could not delete {claim.path.name}: {exc}")

    def release(self, claim: Claim, remaining: Sequence[bytes]) -> None:
        """Give back a claim: ``remaining`` entries become pending again."""
        with self._lock:
            if remaining:
                original = claim.path.name.split(CLAIM_MARK, 1)[0]
                try:
                    self._write_atomically(self.path / original, b"\n".join(remaining) + b"\n")
                except OSError as exc:
                    _diagnostics.report(
                        "dlq-write", f"could not return dead-letter file {original}: {exc}"
                    )
                    return  # keep the claim file: it recovers once this process is gone
        self.complete(claim)

    def recover_stale(self) -> int:
        """Return claims of dead processes to pending and remove stale temp files."""
        try:
            scan = list(os.scandir(self.path))
        except OSError:
            return 0
        now, recovered = time.time(), 0
        for item in scan:
            try:
                age = now - item.stat().st_mtime
            except OSError:
                continue
            if item.name.startswith(TMP_PREFIX):
                if age > STALE_CLAIM_SECONDS * 60:
                    Path(item.path).unlink(missing_ok=True)
                continue
            if CLAIM_MARK not in item.name or age < STALE_CLAIM_SECONDS:
                continue
            original, _, owner = item.name.partition(CLAIM_MARK)
            if _process_alive(owner.partition("-")[0]):
                continue
            try:
                os.rename(item.path, self.path / original)
                recovered += 1
            except OSError:
                continue
        return recovered


def _process_alive(pid_text: str) -> bool:
    try:
        pid = int(pid_text)
    except ValueError:
        return False
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # exists, owned by someone else
    return True


def _count_lines(path: Path) -> int:
    try:
        with open(path, "rb") as handle:
            return handle.read(MAX_FILE_BYTES).count(b"\n")
    except OSError:
        return 0
