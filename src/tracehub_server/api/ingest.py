"""``POST /api/v1/ingest``: authenticate, bound, parse, validate, make durable, answer 202.

The view is thin on purpose (auth, quota, size caps, enqueue); the heavy work happens in the
digest. It is a plain ASGI callable that the app dispatches to before FastAPI's routing,
middleware and dependency machinery (see :mod:`tracehub_server.app`): that machinery
cost more CPU per request than validating fifty entries. Status codes, each with a JSON
body ``{"error": "..."}`` except 202:

* 202 ``{"accepted": N, "rejected": [{"index": i, "error": "..."}]}`` -- the accepted entries
  are durable: committed (embedded) or confirmed by the broker as a persistent message.
* 422 the same body when every entry was rejected (``accepted`` is 0): a client that reads
  only the status must not believe the batch was delivered.
* 400 malformed JSON, a body that is not an array, broken gzip, empty body.
* 401 missing or unknown ``X-API-Key``; 403 revoked key.
* 405 a method other than POST.
* 413 compressed body, decompressed body or entry count over the limits of
  :mod:`tracehub.limits`; 415 an unsupported ``Content-Encoding``.
* 429 with ``Retry-After``: the project's rate limit, or the queue is deeper than
  ``max_queue_depth``.
* 503 with ``Retry-After``: the broker (or, embedded, the database) cannot take the batch now.
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import asyncpg
import orjson

from tracehub.limits import MAX_ENTRIES_PER_BATCH
from tracehub_server.api import metrics
from tracehub_server.api.body import (
    BodyError,
    BodyGate,
    check_content_length,
    encoding_is_gzip,
    read_body,
)
from tracehub_server.api.canonical import canonical_items, canonical_rows
from tracehub_server.api.event_ids import EventIdSource, RequestEventIds, random_event_id
from tracehub_server.api.keys import ApiKeyCache, KeyUsage
from tracehub_server.api.offload import BodyParser
from tracehub_server.api.ratelimit import RateLimiter
from tracehub_server.api.validation import EntryValidator
from tracehub_server.queue.base import IngestQueue, QueueUnavailable
from tracehub_server.queue.messages import IngestBatch
from tracehub_server.storage.projects import ApiKeyAuth

logger = logging.getLogger(__name__)

#: The path served by :func:`serve`.
INGEST_PATH = "/api/v1/ingest"
#: Seconds a client is asked to wait when the queue or the database is unavailable or full.
UNAVAILABLE_RETRY_AFTER = 5

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]

_JSON = (b"content-type", b"application/json")
# labels() takes a lock and builds a key per call; the few statuses are resolved once each.
_REQUESTS_BY_STATUS: dict[int, Any] = {}


def _count(status: int) -> None:
    counter = _REQUESTS_BY_STATUS.get(status)
    if counter is None:
        counter = _REQUESTS_BY_STATUS[status] = metrics.REQUESTS.labels(str(status))
    counter.inc()


@dataclass(slots=True)
class IngestService:
    """What the ingest view needs, built once per app by ``create_app``."""

    keys: ApiKeyCache
    usage: KeyUsage
    limiter: RateLimiter
    validator: EntryValidator
    queue: IngestQueue
    max_queue_depth: int
    #: Time, count and memory bounds on the bodies being read (``api.body``).
    bodies: BodyGate = field(default_factory=BodyGate)
    #: Where large bodies are parsed (``api.offload``).
    parser: BodyParser = field(default_factory=BodyParser)


class Disconnected(Exception):
    """The client went away before sending the whole body: there is no one to answer."""


class Refusal(Exception):
    """The request is refused with ``status``; ``retry_after`` (seconds) for 429 and 503."""

    def __init__(self, status: int, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.retry_after = retry_after

    def __reduce__(self) -> tuple[Any, ...]:
        # Raised in the parser child by a mapping (map_and_submit): it must pickle whole.
        return _refusal, (self.status, self.message, self.retry_after)


def _refusal(status: int, message: str, retry_after: float | None) -> Refusal:
    return Refusal(status, message, retry_after=retry_after)


@dataclass(frozen=True, slots=True)
class Outcome:
    """What :func:`deliver` did: how many entries were accepted, and why others were not."""

    accepted: int
    rejected: list[dict[str, Any]] = field(default_factory=list)


async def deliver(
    service: IngestService,
    auth: ApiKeyAuth,
    accepted: list[Any],
    rejected: list[dict[str, Any]],
    now: datetime,
) -> Outcome:
    """Make validated entries durable and count the rejected (native ingest and the open
    protocols alike); :class:`Refusal` 429 for the rate limit, 503 when the queue is down."""
    service.usage.record(auth.key_id, now)
    if accepted:
        wait = service.limiter.take(auth.project_id, len(accepted))
        if wait:
            raise Refusal(429, "rate limit exceeded for this project", retry_after=wait)
        started = time.perf_counter()
        try:
            await service.queue.publish(IngestBatch(project_id=auth.project_id, entries=accepted))
        except QueueUnavailable as exc:
            logger.warning("ingest batch not accepted: %s", exc)
            raise Refusal(
                503, f"queue unavailable: {exc}", retry_after=UNAVAILABLE_RETRY_AFTER
            ) from None
        metrics.PUBLISH_SECONDS.observe(time.perf_counter() - started)
        metrics.ENTRIES_ACCEPTED.inc(len(accepted))
    if rejected:
        metrics.ENTRIES_REJECTED.inc(len(rejected))
    return Outcome(accepted=len(accepted), rejected=rejected)


_Reply = tuple[int, bytes, list[tuple[bytes, bytes]]]


async def _respond(send: Send, reply: _Reply) -> None:
    status, body, extra = reply
    _count(status)
    headers = [_JSON, (b"content-length", b"%d" % len(body)), *extra]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def authenticate(service: IngestService, key: str | None, *, header: str) -> ApiKeyAuth:
    """The key's project; 401 for a missing or unknown key, 403 revoked, 503 no database."""
    if not key:
        raise Refusal(401, f"missing {header}")
    try:
        auth = await service.keys.lookup(key)
    except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        logger.warning("API key lookup failed: %s", exc)
        raise Refusal(503, "database unavailable", retry_after=UNAVAILABLE_RETRY_AFTER) from None
    if auth is None:
        raise Refusal(401, "unknown API key")
    if auth.revoked:
        raise Refusal(403, "API key has been revoked")
    return auth


async def admit(service: IngestService, project_id: int) -> None:
    """429 while the project is over its rate limit or the queue is over its depth."""
    wait = service.limiter.retry_after(project_id)
    if wait:
        raise Refusal(429, "rate limit exceeded for this project", retry_after=wait)
    depth = await service.queue.depth()
    if depth is not None and depth >= service.max_queue_depth:
        raise Refusal(429, "ingest queue is full; retry later", retry_after=UNAVAILABLE_RETRY_AFTER)


def _error(
    status: int, message: str, *, retry_after: float | None = None, close: bool = False
) -> _Reply:
    extra = []
    if retry_after is not None:
        extra.append((b"retry-after", b"%d" % max(1, math.ceil(retry_after))))
    if close:  # the body was not read to its end: its rest must not be taken as a request
        extra.append((b"connection", b"close"))
    return status, orjson.dumps({"error": message}), extra


def _parse(body: bytes) -> list[Any]:
    if not body.strip():
        raise BodyError(400, "body is empty; send a JSON array of log entries")
    try:
        items = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        items = _python_json(body)
        if items is None:
            raise BodyError(400, f"body is not valid JSON: {exc}") from None
    if type(items) is not list:
        kind = "an object" if isinstance(items, dict) else "a scalar"
        raise BodyError(400, f"body must be a JSON array of log entries, got {kind}")
    if len(items) > MAX_ENTRIES_PER_BATCH:
        raise BodyError(
            413, f"{len(items)} entries in one request; the limit is {MAX_ENTRIES_PER_BATCH}"
        )
    return items


#: Tokens Python's ``json.dumps`` writes for float specials (tracehub-logger 1.2.0 sends
#: them in ``extra``); stored as these strings, since neither JSON nor jsonb has them.
_PYTHON_CONSTANTS = (b"NaN", b"Infinity")


def _python_json(body: bytes) -> Any:
    """``body`` parsed as Python's ``json`` module reads it, when orjson refused it only
    for ``NaN`` / ``Infinity``; None for anything else that is not JSON."""
    if not any(token in body for token in _PYTHON_CONSTANTS):
        return None
    try:
        items = json.loads(body, parse_constant=str)
        # Everything else must be what orjson reads: no lone surrogates, no deep nesting.
        return orjson.loads(orjson.dumps(items))
    except (ValueError, TypeError, RecursionError):
        return None


def validate_body(
    validator: EntryValidator,
    body: bytes,
    now: datetime,
    event_ids: EventIdSource = random_event_id,
    items: list[Any] | None = None,
) -> tuple[list[Any], list[dict[str, Any]]]:
    """Accepted entries and rejections of one body: the one validation step of native ingest
    and of the open protocols; :class:`BodyError` if ``body`` is not an array of entries.

    A body in the SDK's canonical form is decoded and checked in one C pass (the fast path,
    :mod:`.canonical`); any other takes the general path (:mod:`.validation`), which alone
    decides what to repair or reject and why. ``items`` is the body already parsed (a
    protocol's mapped entries; ``body`` is then not read): the fast path converts them from
    the Python objects with the same Struct, and the general path takes them as they are.
    ``event_ids`` names the entries sent without an id (see :mod:`.event_ids`).
    """
    received = now.isoformat()
    oldest, newest = validator.timestamp_range(now)
    if items is not None:
        rows = canonical_items(items, received, oldest, newest, event_ids)
    # JSON can carry a NUL only as the escape \\u0000: without it, no string needs a repair.
    elif b"\\u0000" not in body:
        rows = canonical_rows(body, received, oldest, newest, event_ids)
    else:
        rows = None
    if rows is not None:
        return rows, []
    return validator.validate(_parse(body) if items is None else items, now, event_ids=event_ids)


async def body_chunks(receive: Receive) -> AsyncIterator[bytes]:
    """The request body's chunks as they arrive; :class:`Disconnected` if the client leaves."""
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise Disconnected
        yield message.get("body", b"")
        if not message.get("more_body", False):
            return


def _headers(scope: Scope) -> tuple[str | None, str | None, str | None]:
    key = length = encoding = None
    for name, value in scope["headers"]:
        if name == b"x-api-key":
            key = value.decode("latin-1")
        elif name == b"content-length":
            length = value.decode("latin-1")
        elif name == b"content-encoding":
            encoding = value.decode("latin-1")
    return key, length, encoding


async def serve(service: IngestService, scope: Scope, receive: Receive, send: Send) -> None:
    """Answer one ingest request (the ASGI entry point; any method, see the 405)."""
    if scope["method"] != "POST":
        reply = _error(405, "use POST to send log entries")
        await _respond(send, (405, reply[1], [(b"allow", b"POST")]))
        return
    try:
        reply = await _ingest(service, scope, receive)
    except Disconnected:
        _count(499)  # nginx's "client closed request": nobody is left to answer
        return
    await _respond(send, reply)


async def _ingest(service: IngestService, scope: Scope, receive: Receive) -> _Reply:
    key, length, encoding = _headers(scope)
    try:
        auth = await authenticate(service, key, header="X-API-Key header")
        await admit(service, auth.project_id)
    except Refusal as refusal:
        return _error(refusal.status, refusal.message, retry_after=refusal.retry_after)
    project_id = auth.project_id

    try:
        check_content_length(length)
        gzip = encoding_is_gzip(encoding)
        admission = service.bodies.admit()
        try:
            body = await read_body(body_chunks(receive), gzip=gzip, admission=admission)
            now = datetime.now(timezone.utc)
            ids = RequestEventIds(project_id, body)
            accepted, rejected = await service.parser.run(
                len(body), validate_body, service.validator, body, now, ids
            )
        finally:
            admission.release()
    except BodyError as exc:
        return _error(exc.status, exc.message, retry_after=exc.retry_after, close=exc.close)
    try:
        await deliver(service, auth, accepted, rejected, now)
    except Refusal as exc:
        return _error(exc.status, exc.message, retry_after=exc.retry_after)
    status = 202 if accepted or not rejected else 422
    return status, orjson.dumps({"accepted": len(accepted), "rejected": rejected}), []
