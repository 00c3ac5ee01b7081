"""Prometheus metrics of the digest, shared by ``tracehub worker`` and the in-process queue.

``tracehub worker --metrics-port 9100`` serves them; in the embedded default they appear on
the API's ``/metrics``.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from prometheus_client import Counter, Gauge, Histogram

ROWS_WRITTEN = Counter("tracehub_rows_written", "Log rows inserted (duplicates excluded)")
DUPLICATES = Counter("tracehub_duplicates", "Redelivered or resent entries already stored")
ISSUES_CREATED = Counter("tracehub_issues_created", "Issues created by new fingerprints")
BATCHES = Counter("tracehub_digest_batches", "Digest transactions committed")
DIGEST_SECONDS = Histogram(
    "tracehub_digest_seconds",
    "Time of one digest transaction",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
LAG_SECONDS = Gauge(
    "tracehub_worker_lag_seconds",
    "Seconds between receipt by the API and commit (last batch)",
    multiprocess_mode="max",  # several embedded --workers processes: the worst one counts
)
FAILURES = Counter("tracehub_worker_failures", "Failed digest attempts", ["kind"])
DEAD_LETTERED = Counter("tracehub_worker_dead_lettered", "Messages sent to the dead-letter queue")


def observe_digest(result: Any, seconds: float, received_at: str | None = None) -> None:
    """Record one committed digest (``result`` is a ``DigestResult``)."""
    ROWS_WRITTEN.inc(getattr(result, "inserted", 0))
    DUPLICATES.inc(getattr(result, "duplicates", 0))
    ISSUES_CREATED.inc(getattr(result, "issues_created", 0))
    BATCHES.inc()
    DIGEST_SECONDS.observe(seconds)
    if received_at:
        try:
            received = datetime.fromisoformat(received_at)
        except ValueError:
            return
        LAG_SECONDS.set(max((datetime.now(timezone.utc) - received).total_seconds(), 0.0))
