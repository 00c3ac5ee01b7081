"""The steps every ingest protocol shares, for the views that speak OTLP and Sentry.

A protocol view only translates: it reads the request with :func:`read_request` and hands
:func:`map_and_submit` a function mapping the body to native wire entries (the dicts
``POST /api/v1/ingest`` accepts). That runs the mapping -- in the parser child for a large
body, off the event loop, as native ingest parses one -- and then the native path's own
pieces: the :class:`~tracehub_server.api.ingest.IngestService`'s key cache, rate limiter,
per-entry validator and queue, the limits of :mod:`tracehub.limits` and the body reader of
:mod:`tracehub_server.api.body`. So an entry arriving by any protocol is validated, limited,
made durable and deduplicated (by ``event_id``) exactly as a native one is.

Each step raises :class:`Refusal` with the status to answer; the view renders it in its
protocol's shape.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Awaitable, Callable, MutableMapping
from datetime import datetime, timezone
from typing import Any, TypeVar

from tracehub.limits import MAX_ENTRIES_PER_BATCH
from tracehub_server.api.body import BodyError, check_content_length, read_body
from tracehub_server.api.ingest import (
    IngestService,
    Outcome,
    Refusal,
    body_chunks,
    deliver,
    validate_body,
)
from tracehub_server.api.validation import EntryValidator
from tracehub_server.storage.projects import ApiKeyAuth

logger = logging.getLogger(__name__)

Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
T = TypeVar("T")
#: A protocol's mapping: ``(body, *args)`` to wire entries and what the view needs besides.
Mapper = Callable[..., tuple[list[Any], T]]


async def read_request(
    service: IngestService, receive: Receive, *, length: str | None, coding: str | None
) -> bytes:
    """The decompressed body within native ingest's limits: size (413), time (408) and the
    process's bodies-in-flight gate (503 with Retry-After); 400 when it is broken."""
    try:
        check_content_length(length)
        admission = service.bodies.admit()
        try:
            return await read_body(body_chunks(receive), encoding=coding, admission=admission)
        finally:
            admission.release()
    except BodyError as exc:
        raise Refusal(exc.status, exc.message, retry_after=exc.retry_after) from None


def check_count(count: int, *, what: str) -> None:
    """413 when one request carries more entries than a native request may."""
    if count > MAX_ENTRIES_PER_BATCH:
        raise Refusal(413, f"{count} {what} in one request; the limit is {MAX_ENTRIES_PER_BATCH}")


def validate_entries(
    validator: EntryValidator, items: list[Any], now: datetime
) -> tuple[list[Any], list[dict[str, Any]]]:
    """Mapped entries validated as a native body is (:func:`validate_body` with ``items``)."""
    return validate_body(validator, b"", now, items=items)


def _map_and_validate(
    mapper: Mapper[T], validator: EntryValidator, now: datetime, *args: Any
) -> tuple[list[Any], list[dict[str, Any]], T]:
    items, context = mapper(*args)
    accepted, rejected = validate_entries(validator, items, now) if items else ([], [])
    return accepted, rejected, context


async def map_and_submit(
    service: IngestService, auth: ApiKeyAuth, body: bytes, mapper: Mapper[T], *args: Any
) -> tuple[Outcome, T]:
    """Map ``body`` to wire entries with ``mapper(body, *args)``, validate them as native
    ingest does and make the accepted ones durable.

    For a large body the mapping and validation run off the event loop, in the ingest
    service's parser child (``TRACEHUB_PARSE_OFFLOAD_BYTES`` and up, as native ingest parses
    one), so ``mapper`` must be a module-level function taking and returning plain data. It
    raises :class:`Refusal` (or an error the caller turns into one) for a body it cannot read.

    Returns the outcome -- its ``rejected`` holds the validator's ``{"index", "error"}`` for
    each refused entry, indexing the mapper's list -- and the mapper's second value. Raises
    :class:`Refusal` 429 (rate limit) or 503 (queue, or the parser child died).
    """
    now = datetime.now(timezone.utc)
    try:
        accepted, rejected, context = await service.parser.run(
            len(body), _map_and_validate, mapper, service.validator, now, body, *args
        )
    except BodyError as exc:  # the parser child died: 503, retry
        raise Refusal(exc.status, exc.message, retry_after=exc.retry_after) from None
    return await deliver(service, auth, accepted, rejected, now), context


def headers_of(scope: MutableMapping[str, Any]) -> dict[bytes, str]:
    """The request headers by lower-case name (the last of repeated ones)."""
    return {name: value.decode("latin-1") for name, value in scope["headers"]}


def retry_after_header(seconds: float | None) -> list[tuple[bytes, bytes]]:
    """``Retry-After`` in whole seconds (at least 1), or nothing."""
    if seconds is None:
        return []
    return [(b"retry-after", b"%d" % max(1, math.ceil(seconds)))]


async def respond(
    send: Send,
    status: int,
    body: bytes,
    content_type: bytes,
    headers: list[tuple[bytes, bytes]] | None = None,
) -> None:
    """Send a whole response."""
    head = [(b"content-type", content_type), (b"content-length", b"%d" % len(body))]
    await send({"type": "http.response.start", "status": status, "headers": head + (headers or [])})
    await send({"type": "http.response.body", "body": body})
