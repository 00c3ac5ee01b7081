"""``POST /v1/logs``: OTLP/HTTP logs, answered as the OTLP specification says.

A plain ASGI view dispatched before FastAPI, like native ingest (see
:mod:`tracehub_server.app`). Authentication is the project's API key in ``x-api-key`` or
``Authorization: Bearer`` (both settable through ``OTEL_EXPORTER_OTLP_HEADERS``). The
response has the request's encoding (protobuf or JSON):

* 200 ``ExportLogsServiceResponse`` -- every record stored, or ``partial_success`` with
  ``rejected_log_records`` and an ``error_message`` naming the first rejections;
* 400 a body that cannot be decoded, or one whose every record was rejected (the status
  alone tells an exporter nothing was stored; it does not retry a 400);
* 401/403 key missing, unknown or revoked; 405 not POST; 413 over the native limits
  (compressed or decompressed size, 1,000 records); 415 another content type or encoding;
* 429 (rate limit, queue full) and 503 (queue or database unavailable) with
  ``Retry-After``: the codes OTLP exporters retry.

Error bodies are a ``google.rpc.Status`` (``code``, ``message``), as the spec asks.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any

import orjson
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceResponse

from tracehub_server.api import metrics
from tracehub_server.api.body import BodyError, content_coding
from tracehub_server.api.ingest import Disconnected, IngestService, admit, authenticate
from tracehub_server.api.intake import (
    Receive,
    Refusal,
    Send,
    headers_of,
    map_and_submit,
    read_request,
    respond,
    retry_after_header,
)
from tracehub_server.api.otlp.decode import Undecodable, from_json, from_protobuf

#: The path an OTLP exporter appends to ``OTEL_EXPORTER_OTLP_ENDPOINT``.
OTLP_LOGS_PATH = "/v1/logs"
#: Rejections named in ``partial_success.error_message``.
NAMED_REJECTIONS = 3

_PROTOBUF = b"application/x-protobuf"
_JSON = b"application/json"
_PROTOBUF_TYPES = frozenset({"application/x-protobuf", "application/protobuf"})
_CODINGS = frozenset({"gzip", "deflate", "br"})
# google.rpc.Code for each status we answer with.
_RPC_CODES = {400: 3, 401: 16, 403: 7, 405: 12, 413: 3, 415: 3, 429: 8, 503: 14}
# labels() takes a lock and builds a key per call; the few statuses are resolved once each.
_REQUESTS_BY_STATUS: dict[int, Any] = {}


def _count(status: int) -> None:
    counter = _REQUESTS_BY_STATUS.get(status)
    if counter is None:
        counter = _REQUESTS_BY_STATUS[status] = metrics.PROTOCOL_REQUESTS.labels(
            "otlp", str(status)
        )
    counter.inc()


def _status_body(protobuf: bool, status: int, message: str) -> bytes:
    code = _RPC_CODES.get(status, 2)
    if not protobuf:
        return orjson.dumps({"code": code, "message": message})
    # google.rpc.Status is two fields; its module is not a dependency of opentelemetry-proto.
    text = message.encode()
    return b"\x08" + _varint(code) + b"\x12" + _varint(len(text)) + text


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _success_body(protobuf: bool, rejected: int, message: str) -> bytes:
    if protobuf:
        response = ExportLogsServiceResponse()
        if rejected:
            response.partial_success.rejected_log_records = rejected
            response.partial_success.error_message = message
        return response.SerializeToString()
    if not rejected:
        return b"{}"
    # int64 is a string in the proto3 JSON mapping.
    partial = {"rejectedLogRecords": str(rejected), "errorMessage": message}
    return orjson.dumps({"partialSuccess": partial})


def _rejection_message(rejected: list[tuple[int, str]], total: int) -> str:
    named = "; ".join(f"record {index}: {error}" for index, error in rejected[:NAMED_REJECTIONS])
    more = len(rejected) - NAMED_REJECTIONS
    tail = f"; and {more} more" if more > 0 else ""
    return f"{len(rejected)} of {total} log records rejected: {named}{tail}"


async def serve(
    service: IngestService, scope: MutableMapping[str, Any], receive: Receive, send: Send
) -> None:
    """Answer one OTLP/HTTP logs export (the ASGI entry point; any method)."""
    headers = headers_of(scope)
    kind = headers.get(b"content-type", "").split(";", 1)[0].strip().lower()
    protobuf = kind in _PROTOBUF_TYPES
    content_type = _PROTOBUF if protobuf else _JSON
    try:
        status, body = await _export(service, scope, receive, headers, kind, protobuf)
        extra: list[tuple[bytes, bytes]] = []
    except Refusal as refusal:
        status, body = refusal.status, _status_body(protobuf, refusal.status, refusal.message)
        extra = retry_after_header(refusal.retry_after)
        if status == 405:
            extra.append((b"allow", b"POST"))
    except Disconnected:
        _count(499)
        return
    _count(status)
    await respond(send, status, body, content_type, extra)


def _api_key(headers: dict[bytes, str]) -> str | None:
    key = headers.get(b"x-api-key")
    if key:
        return key.strip()
    scheme, _, token = headers.get(b"authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else None


async def _export(
    service: IngestService,
    scope: MutableMapping[str, Any],
    receive: Receive,
    headers: dict[bytes, str],
    kind: str,
    protobuf: bool,
) -> tuple[int, bytes]:
    if scope["method"] != "POST":
        raise Refusal(405, "use POST to export logs")
    if not protobuf and kind != "application/json":
        raise Refusal(
            415, "Content-Type must be application/x-protobuf or application/json for OTLP/HTTP"
        )
    auth = await authenticate(
        service, _api_key(headers), header="x-api-key or Authorization: Bearer header"
    )
    await admit(service, auth.project_id)
    try:
        coding = content_coding(headers.get(b"content-encoding"), _CODINGS)
    except BodyError as exc:
        raise Refusal(exc.status, exc.message) from None
    body = await read_request(
        service, receive, length=headers.get(b"content-length"), coding=coding
    )
    try:
        outcome, (positions, unreadable) = await map_and_submit(
            service, auth, body, _decode, auth.project_id, protobuf
        )
    except Undecodable as exc:
        raise Refusal(400, str(exc)) from None
    rejected = unreadable + [(positions[r["index"]], r["error"]) for r in outcome.rejected]
    return _answer(rejected, len(positions) + len(unreadable), protobuf)


def _decode(
    body: bytes, project_id: int, protobuf: bool
) -> tuple[list[dict[str, Any]], tuple[list[int], list[tuple[int, str]]]]:
    """The request's wire entries, their record positions and the unreadable records.

    Run by :func:`map_and_submit`, in the parser child for a large body: plain data only.
    """
    decoded = (from_protobuf if protobuf else from_json)(body, project_id)
    return decoded.entries, (decoded.positions, decoded.rejected)


def _answer(rejected: list[tuple[int, str]], total: int, protobuf: bool) -> tuple[int, bytes]:
    if not rejected:
        return 200, _success_body(protobuf, 0, "")
    rejected.sort()
    message = _rejection_message(rejected, total)
    if len(rejected) == total:
        raise Refusal(400, message)
    return 200, _success_body(protobuf, len(rejected), message)
