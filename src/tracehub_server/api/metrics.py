"""Prometheus metrics of the ingest API, served at ``GET /metrics``.

Metrics live in prometheus_client's default registry, so ``/metrics`` also shows the digest
metrics of :mod:`tracehub_server.worker.metrics` when batches are digested in-process (the
embedded default). With ``uvicorn --workers N`` each process counts its own requests.
"""

from __future__ import annotations

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest

ENTRIES_ACCEPTED = Counter(
    "tracehub_ingest_entries_accepted", "Log entries accepted by the ingest API"
)
ENTRIES_REJECTED = Counter(
    "tracehub_ingest_entries_rejected", "Log entries refused by per-entry validation"
)
REQUESTS = Counter("tracehub_ingest_requests", "Ingest requests by response status", ["status"])
PUBLISH_SECONDS = Histogram(
    "tracehub_ingest_publish_seconds",
    "Time to make an accepted batch durable (broker confirm or in-process commit)",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)

router = APIRouter()


@router.get("/metrics", include_in_schema=False)
async def metrics() -> Response:
    """Prometheus text exposition of this process's metrics."""
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
