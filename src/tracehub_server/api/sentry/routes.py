"""``POST /api/<project_id>/envelope/`` and ``/store/``: what a Sentry SDK sends, ingested.

Plain ASGI views dispatched before FastAPI, like native ingest. The key is ``sentry_key``
(``X-Sentry-Auth``, else the query string, else -- for a tunnelled envelope -- the ``dsn``
of the envelope's header) and must belong to the project in the path. Bodies may be gzip-,
deflate- or brotli-compressed, within the native size limits (a ``/store/`` body may also
be raven's base64, :mod:`.legacy`). Every answer carries CORS headers (:mod:`.cors`), and
``OPTIONS`` is a preflight. Answers, as Sentry gives them (the SDKs read only the status and
the rate-limit headers; ``X-Sentry-Error`` repeats the detail):

* 200 ``{"id": "<event_id>"}`` -- every entry stored. ``event`` and ``log`` items become
  entries; every other item type (``transaction``, ``session``, ``client_report``,
  ``attachment``, ...) is accepted and dropped, counted in
  ``tracehub_sentry_items_dropped{type}``;
* 400 ``{"detail": ...}`` a body that is not an envelope / event, or an entry the native
  validator refused (``rejected`` lists them; the others are stored);
* 401/403 key missing, unknown, revoked or of another project (or the envelope's DSN names
  another project); 405 neither POST nor OPTIONS; 413 over the native limits; 415 an
  unsupported Content-Encoding;
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
from tracehub_server.api.event_ids import RequestEventIds
from tracehub_server.api.ingest import Disconnected, IngestService, admit, authenticate
from tracehub_server.api.intake import (
    Receive,
    Refusal,
    Send,
    check_count,
    headers_of,
    map_and_submit,
    read_request,
    respond,
    retry_after_header,
)
from tracehub_server.api.sentry import cors, envelope, legacy
from tracehub_server.api.sentry.auth import dsn_parts, match_path, sentry_key
from tracehub_server.api.sentry.mapping import event_entry, log_entries
from tracehub_server.storage.projects import ApiKeyAuth

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


#: Characters of the refusal's detail repeated in ``X-Sentry-Error``.
_MAX_ERROR_HEADER_CHARS = 200


def _visible(char: str) -> str:
    return char if " " <= char <= "~" else "?"


def _refusal_headers(refusal: Refusal) -> list[tuple[bytes, bytes]]:
    headers = retry_after_header(refusal.retry_after)
    if refusal.status == 429 and refusal.retry_after is not None:
        # No categories: the SDK pauses everything; scope "key" (the DSN's key is limited).
        seconds = max(1, math.ceil(refusal.retry_after))
        headers.append((b"x-sentry-rate-limits", b"%d::key" % seconds))
    if refusal.status == 405:
        headers.append((b"allow", b"POST, OPTIONS"))
    # A header value is one line of visible ASCII: anything else in the detail becomes "?".
    text = refusal.message[:_MAX_ERROR_HEADER_CHARS]
    headers.append((b"x-sentry-error", "".join(map(_visible, text)).encode()))
    return headers


async def serve(
    service: IngestService, scope: MutableMapping[str, Any], receive: Receive, send: Send
) -> None:
    """Answer one envelope or store request (the ASGI entry point; any method)."""
    matched = match_path(scope["path"])
    if matched is None:  # dispatched only for paths is_sentry_path accepts
        raise LookupError(f"not a Sentry ingest path: {scope['path']!r}")
    if scope["method"] == "OPTIONS":
        metrics.PROTOCOL_REQUESTS.labels("sentry", "200").inc()
        await send({"type": "http.response.start", "status": 200,
                    "headers": cors.PREFLIGHT_HEADERS})  # fmt: skip
        await send({"type": "http.response.body", "body": b""})
        return
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
    await respond(send, status, body, _JSON, cors.RESPONSE_HEADERS + headers)


async def _authorise(service: IngestService, key: str | None, project_id: int) -> ApiKeyAuth:
    where = "sentry_key (X-Sentry-Auth header, query string or the envelope's dsn)"
    auth = await authenticate(service, key, header=where)
    if auth.project_id != project_id:
        raise Refusal(403, f"this key does not belong to project {project_id}; check the DSN")
    return auth


def _tunnelled_key(body: bytes, project_id: int) -> str | None:
    """The key of the DSN in a tunnelled envelope's header (403 if it names another project)."""
    try:
        dsn = dsn_parts(envelope.header(body).get("dsn"))
    except envelope.EnvelopeError as exc:
        raise Refusal(400, str(exc)) from None
    if dsn is None:
        return None
    key, dsn_project = dsn
    if dsn_project != project_id:
        raise Refusal(403, f"the envelope's dsn is for project {dsn_project}, not {project_id}")
    return key


async def _read(service: IngestService, receive: Receive, headers: dict[bytes, str]) -> bytes:
    try:
        coding = content_coding(headers.get(b"content-encoding"), _CODINGS)
    except BodyError as exc:
        raise Refusal(exc.status, exc.message) from None
    length = headers.get(b"content-length")
    return await read_request(service, receive, length=length, coding=coding)


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
    if key is None and endpoint == "envelope":
        # A tunnel: the key is inside the body, read (within the limits) before the check.
        body = await _read(service, receive, headers)
        auth = await _authorise(service, _tunnelled_key(body, project_id), project_id)
        await admit(service, project_id)
    else:
        auth = await _authorise(service, key, project_id)
        await admit(service, project_id)
        body = await _read(service, receive, headers)
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
        event = orjson.loads(legacy.event_json(body))
    except orjson.JSONDecodeError as exc:
        raise Refusal(400, f"body is not a JSON event: {exc}") from None
    if type(event) is not dict:
        raise Refusal(400, "body must be a JSON event object")
    entry = event_entry(event, fallback_id=RequestEventIds(project_id, body)(0))
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
        fallback_id = event_id or RequestEventIds(project_id, item.payload)(0)
        entry = event_entry(event, fallback_id=fallback_id)
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
