"""``POST /api/<project_id>/envelope/`` and ``/store/``: what a Sentry SDK sends, ingested.

Plain ASGI views dispatched before FastAPI, like native ingest. The key is ``sentry_key``
(``X-Sentry-Auth`` or the query string) and must belong to the project in the path. Bodies
may be gzip-, deflate- or brotli-compressed, within the native size limits. Answers, as
Sentry gives them (the SDKs read only the status and the rate-limit headers):

* 200 ``{"id": "<event_id>"}`` -- every entry stored. ``event`` and ``log`` items become
  entries; every other item type (``transaction``, ``session``, ``client_report``,
  ``attachment``, ...) is accepted and dropped, counted in
  ``tracehub_sentry_items_dropped{type}``;
* 400 ``{"detail": ...}`` a body that is not an envelope / event, or an entry the native
  validator refused (``rejected`` lists them; the others are stored);
* 401/403 key missing, unknown, revoked or of another project; 405 not POST; 413 over the
  native limits; 415 an unsupported Content-Encoding;
* 429 with ``Retry-After`` and ``X-Sentry-Rate-Limits: <seconds>::key`` (the SDK pauses
  every category) when the project's rate limit or the queue depth is exceeded; 503 with
  ``Retry-After`` when the queue or database cannot take the entries.
"""

from __future__ import annotations

import math
from collections.abc import MutableMapping
from typing import Any

import orjson

from tracehub_server.api import metrics
from tracehub_server.api.body import BodyError, content_coding
from tracehub_server.api.ingest import Disconnected, IngestService
from tracehub_server.api.intake import (
    Receive,
    Refusal,
    Send,
    admit,
    authenticate,
    check_count,
    headers_of,
    map_and_submit,
    read_request,
    respond,
    retry_after_header,
)
from tracehub_server.api.sentry import envelope
from tracehub_server.api.sentry.auth import match_path, sentry_key
from tracehub_server.api.sentry.mapping import derived_id, event_entry, log_entries

_JSON = b"application/json"
_CODINGS = frozenset({"gzip", "deflate", "br"})
#: Item types that become entries; every other type is dropped (and counted).
STORED_ITEM_TYPES = frozenset({"event", "log"})


class Rejected(Refusal):
    """Entries the validator refused (400); the accepted ones of the request are stored."""

    def __init__(self, rejected: list[dict[str, Any]]) -> None:
        first = rejected[0]["error"]
        super().__init__(400, f"{len(rejected)} entries rejected; first: {first}")
        self.rejected = rejected


def is_sentry_path(path: str) -> bool:
    """True for the endpoints a Sentry SDK derives from a DSN."""
    return path.startswith("/api/") and match_path(path) is not None


def _refusal_headers(refusal: Refusal) -> list[tuple[bytes, bytes]]:
    headers = retry_after_header(refusal.retry_after)
    if refusal.status == 429 and refusal.retry_after is not None:
        # No categories: the SDK pauses everything; scope "key" (the DSN's key is limited).
        seconds = max(1, math.ceil(refusal.retry_after))
        headers.append((b"x-sentry-rate-limits", b"%d::key" % seconds))
    if refusal.status == 405:
        headers.append((b"allow", b"POST"))
    return headers


async def serve(
    service: IngestService, scope: MutableMapping[str, Any], receive: Receive, send: Send
) -> None:
    """Answer one envelope or store request (the ASGI entry point; any method)."""
    matched = match_path(scope["path"])
    assert matched is not None, "dispatched only for paths is_sentry_path accepts"
    try:
        status, body = await _ingest(service, scope, receive, *matched)
        headers: list[tuple[bytes, bytes]] = []
    except Refusal as refusal:
        detail: dict[str, Any] = {"detail": refusal.message}
        if isinstance(refusal, Rejected):
            detail["rejected"] = refusal.rejected
        status, body = refusal.status, orjson.dumps(detail)
        headers = _refusal_headers(refusal)
    except Disconnected:
        metrics.PROTOCOL_REQUESTS.labels("sentry", "499").inc()
        return
    metrics.PROTOCOL_REQUESTS.labels("sentry", str(status)).inc()
    await respond(send, status, body, _JSON, headers)


async def _ingest(
    service: IngestService,
    scope: MutableMapping[str, Any],
    receive: Receive,
    project_id: int,
    endpoint: str,
) -> tuple[int, bytes]:
    if scope["method"] != "POST":
        raise Refusal(405, "use POST to send events")
    headers = headers_of(scope)
    key = sentry_key(headers.get(b"x-sentry-auth"), scope.get("query_string", b""))
    auth = await authenticate(service, key, header="sentry_key (X-Sentry-Auth header or query)")
    if auth.project_id != project_id:
        raise Refusal(403, f"this key does not belong to project {project_id}; check the DSN")
    await admit(service, project_id)
    try:
        coding = content_coding(headers.get(b"content-encoding"), _CODINGS)
    except BodyError as exc:
        raise Refusal(exc.status, exc.message) from None
    body = await read_request(
        service, receive, length=headers.get(b"content-length"), coding=coding
    )
    mapper = _store_items if endpoint == "store" else _envelope_items
    outcome, (event_id, dropped) = await map_and_submit(service, auth, body, mapper, project_id)
    for kind in dropped:
        metrics.SENTRY_ITEMS_DROPPED.labels(_metric_type(kind)).inc()
    if outcome.rejected:
        raise Rejected(outcome.rejected)
    return 200, orjson.dumps({"id": event_id})


#: What a mapping hands back besides the entries: the event id to answer with and the types
#: of the items dropped (counted by the view: the mapping may run in the parser child).
Context = tuple[str, list[str]]


def _store_items(body: bytes, project_id: int) -> tuple[list[Any], Context]:
    try:
        event = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise Refusal(400, f"body is not a JSON event: {exc}") from None
    if type(event) is not dict:
        raise Refusal(400, "body must be a JSON event object")
    entry = event_entry(event, fallback_id=derived_id(project_id, body))
    return [entry], (_id_of(entry), [])


def _id_of(entry: dict[str, Any]) -> str:
    value = entry["event_id"]
    return value.replace("-", "").lower() if type(value) is str else ""


def _envelope_items(body: bytes, project_id: int) -> tuple[list[Any], Context]:
    try:
        header, items = envelope.parse(body)
    except envelope.EnvelopeError as exc:
        raise Refusal(400, str(exc)) from None
    entries: list[Any] = []
    dropped: list[str] = []
    sent_id = header.get("event_id")
    event_id: str = sent_id if type(sent_id) is str else ""
    for index, item in enumerate(items):
        if item.type not in STORED_ITEM_TYPES:
            dropped.append(item.type)
            continue
        try:
            if item.type == "log":
                entries.extend(log_entries(item.payload, project_id))
                continue
            event = orjson.loads(item.payload)
        except (orjson.JSONDecodeError, ValueError) as exc:
            raise Refusal(400, f"item {index} ({item.type}) is not valid: {exc}") from None
        if type(event) is not dict:
            raise Refusal(400, f"item {index} (event) must be a JSON object")
        entry = event_entry(event, fallback_id=event_id or derived_id(project_id, item.payload))
        entries.append(entry)
        event_id = event_id or _id_of(entry)
    check_count(len(entries), what="entries")
    return entries, (event_id.replace("-", ""), dropped)


#: Item types named in the dropped-items metric; others are counted as "other" (bounded
#: label values whatever a client sends).
_KNOWN_TYPES = frozenset(
    {"transaction", "session", "sessions", "client_report", "attachment", "profile",
     "profile_chunk", "check_in", "replay_event", "replay_recording", "span", "statsd",
     "user_report", "feedback", "otel_log", "metric_buckets"}
)  # fmt: skip


def _metric_type(kind: str) -> str:
    return kind if kind in _KNOWN_TYPES else "other"
