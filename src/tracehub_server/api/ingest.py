"""``POST /api/v1/ingest``: authenticate, bound, parse, validate, make durable, answer 202.

The view is thin on purpose (auth, quota, size caps, enqueue); the heavy work happens in the
digest. Status codes, each with a JSON body ``{"error": "..."}`` except 202:

* 202 ``{"accepted": N, "rejected": [{"index": i, "error": "..."}]}`` -- the accepted entries
  are durable: committed (embedded) or confirmed by the broker as a persistent message.
* 400 malformed JSON, a body that is not an array, broken gzip, empty body.
* 401 missing or unknown ``X-API-Key``; 403 revoked key.
* 413 compressed body, decompressed body or entry count over the limits of
  :mod:`tracehub.limits`; 415 an unsupported ``Content-Encoding``.
* 429 with ``Retry-After``: the project's rate limit, or the queue is deeper than
  ``max_queue_depth``.
* 503 with ``Retry-After``: the broker (or, embedded, the database) cannot take the batch now.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import asyncpg
import orjson
from fastapi import APIRouter, Request, Response

from tracehub.limits import MAX_ENTRIES_PER_BATCH
from tracehub_server.api import metrics
from tracehub_server.api.body import BodyError, check_content_length, encoding_is_gzip, read_body
from tracehub_server.api.keys import ApiKeyCache, KeyUsage
from tracehub_server.api.ratelimit import RateLimiter
from tracehub_server.api.validation import EntryValidator
from tracehub_server.queue.base import IngestQueue, QueueUnavailable
from tracehub_server.queue.messages import IngestBatch

logger = logging.getLogger(__name__)

#: Seconds a client is asked to wait when the queue or the database is unavailable or full.
UNAVAILABLE_RETRY_AFTER = 5

router = APIRouter()


@dataclass(slots=True)
class IngestService:
    """What the ingest view needs, built once per app by ``create_app``."""

    keys: ApiKeyCache
    usage: KeyUsage
    limiter: RateLimiter
    validator: EntryValidator
    queue: IngestQueue
    max_queue_depth: int


def _error(status: int, message: str, *, retry_after: float | None = None) -> Response:
    metrics.REQUESTS.labels(str(status)).inc()
    headers = None if retry_after is None else {"Retry-After": str(max(1, math.ceil(retry_after)))}
    return Response(
        orjson.dumps({"error": message}),
        status_code=status,
        media_type="application/json",
        headers=headers,
    )


def _parse(body: bytes) -> list[Any]:
    if not body.strip():
        raise BodyError(400, "body is empty; send a JSON array of log entries")
    try:
        items = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise BodyError(400, f"body is not valid JSON: {exc}") from None
    if not isinstance(items, list):
        kind = "an object" if isinstance(items, dict) else "a scalar"
        raise BodyError(400, f"body must be a JSON array of log entries, got {kind}")
    if len(items) > MAX_ENTRIES_PER_BATCH:
        raise BodyError(
            413, f"{len(items)} entries in one request; the limit is {MAX_ENTRIES_PER_BATCH}"
        )
    return items


@router.post("/api/v1/ingest")
async def ingest(request: Request) -> Response:
    """Accept a batch of log entries for the project of the ``X-API-Key``."""
    service: IngestService = request.app.state.ingest
    key = request.headers.get("x-api-key")
    if not key:
        return _error(401, "missing X-API-Key header")
    try:
        auth = await service.keys.lookup(key)
    except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        logger.warning("API key lookup failed: %s", exc)
        return _error(503, "database unavailable", retry_after=UNAVAILABLE_RETRY_AFTER)
    if auth is None:
        return _error(401, "unknown API key")
    if auth.revoked:
        return _error(403, "API key has been revoked")
    project_id = auth.project_id
    wait = service.limiter.retry_after(project_id)
    if wait:
        return _error(429, "rate limit exceeded for this project", retry_after=wait)
    depth = await service.queue.depth()
    if depth is not None and depth >= service.max_queue_depth:
        return _error(429, "ingest queue is full; retry later", retry_after=UNAVAILABLE_RETRY_AFTER)

    try:
        check_content_length(request.headers.get("content-length"))
        gzip = encoding_is_gzip(request.headers.get("content-encoding"))
        items = _parse(await read_body(request.stream(), gzip=gzip))
    except BodyError as exc:
        return _error(exc.status, exc.message)

    now = datetime.now(timezone.utc)
    accepted, rejected = service.validator.validate(items, now)
    service.usage.record(auth.key_id, now)
    if accepted:
        wait = service.limiter.take(project_id, len(accepted))
        if wait:
            return _error(429, "rate limit exceeded for this project", retry_after=wait)
        started = time.perf_counter()
        try:
            await service.queue.publish(IngestBatch(project_id=project_id, entries=accepted))
        except QueueUnavailable as exc:
            logger.warning("ingest batch not accepted: %s", exc)
            return _error(503, f"queue unavailable: {exc}", retry_after=UNAVAILABLE_RETRY_AFTER)
        metrics.PUBLISH_SECONDS.observe(time.perf_counter() - started)
        metrics.ENTRIES_ACCEPTED.inc(len(accepted))
    if rejected:
        metrics.ENTRIES_REJECTED.inc(len(rejected))
    metrics.REQUESTS.labels("202").inc()
    return Response(
        orjson.dumps({"accepted": len(accepted), "rejected": rejected}),
        status_code=202,
        media_type="application/json",
    )
