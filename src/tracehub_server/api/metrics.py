"""Prometheus metrics of the ingest API, served at ``GET /metrics``.

Metrics live in prometheus_client's default registry, so ``/metrics`` also shows the digest
metrics of :mod:`tracehub_server.worker.metrics` when batches are digested in-process (the
embedded default). Under ``tracehub server --workers N`` the processes share one
``PROMETHEUS_MULTIPROC_DIR`` (prometheus_client's multiprocess mode): each writes its values
there, and a scrape answered by any of them sums them all.
"""

from __future__ import annotations

import os

from fastapi import APIRouter, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.multiprocess import MultiProcessCollector

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
PROTOCOL_REQUESTS = Counter(
    "tracehub_protocol_requests",
    "Requests to the OpenTelemetry and Sentry endpoints by protocol and response status",
    ["protocol", "status"],
)
SENTRY_ITEMS_DROPPED = Counter(
    "tracehub_sentry_items_dropped",
    "Sentry envelope items accepted and not stored (transactions, sessions, ...), by type",
    ["type"],
)

router = APIRouter()


def _scrape_registry() -> CollectorRegistry:
    """This process's registry, or all processes' when they share a multiprocess directory."""
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        return REGISTRY
    registry = CollectorRegistry()
    MultiProcessCollector(registry)
    return registry


_SCRAPED = _scrape_registry()


@router.get("/metrics", include_in_schema=False)
async def metrics() -> Response:
    """Prometheus text exposition of this server's metrics (every process's, summed)."""
    return Response(generate_latest(_SCRAPED), media_type=CONTENT_TYPE_LATEST)
