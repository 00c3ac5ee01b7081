"""OTLP/HTTP requests built by hand to the specification: mapping, partial success, errors."""

from __future__ import annotations

import gzip
import time
import zlib
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from ingest_helpers import open_client
from live_server import live_server, new_project, stored
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import (
    ExportLogsServiceRequest,
    ExportLogsServiceResponse,
)

from tracehub.limits import MAX_DECOMPRESSED_BYTES, MAX_ENTRIES_PER_BATCH
from tracehub_server.queue.base import QueueUnavailable
from tracehub_server.queue.inprocess import InProcessQueue
from tracehub_server.settings import Settings
from tracehub_server.worker.digest import digest

TRACE = "5b8efff798038103d269b633813fc60c"
SPAN = "eee19b7ec3c1b174"
JSON = {"Content-Type": "application/json"}
PROTOBUF = {"Content-Type": "application/x-protobuf"}


def _now_ns() -> int:
    return time.time_ns() - 60_000_000_000


def _record(**fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "timeUnixNano": str(_now_ns()),
        "severityNumber": 9,
        "severityText": "INFO",
        "body": {"stringValue": "hello"},
        "attributes": [],
    }
    base.update(fields)
    return base


def _request(*records: dict[str, Any], resource: list[Any] | None = None) -> dict[str, Any]:
    attributes = resource or [{"key": "service.name", "value": {"stringValue": "api"}}]
    return {
        "resourceLogs": [
            {
                "resource": {"attributes": attributes},
                "scopeLogs": [
                    {"scope": {"name": "my.library", "version": "1.0.0"}, "logRecords": records}
                ],
            }
        ]
    }


def _post(url: str, key: str, body: Any, headers: dict[str, str] | None = None) -> httpx.Response:
    content = body if isinstance(body, bytes) else orjson.dumps(body)
    return httpx.post(
        f"{url}/v1/logs", content=content, headers={"x-api-key": key, **(headers or JSON)}
    )


def test_json_request_maps_every_documented_field(
    server_url, project_key, migrated_database_url
) -> None:
    """The OTLP/JSON mapping (hex ids, int64 strings, enum numbers) lands in the right fields."""
    record = _record(
        severityNumber=17,
        traceId=TRACE,
        spanId=SPAN,
        body={"kvlistValue": {"values": [{"key": "a", "value": {"intValue": "1"}}]}},
        attributes=[
            {"key": "count", "value": {"intValue": "9007199254740993"}},
            {"key": "ok", "value": {"boolValue": True}},
            {"key": "ratio", "value": {"doubleValue": 0.25}},
            {"key": "tags", "value": {"arrayValue": {"values": [{"stringValue": "x"}]}}},
            {"key": "thread.id", "value": {"intValue": "12"}},
            {"key": "thread.name", "value": {"stringValue": "worker-1"}},
            {"key": "code.namespace", "value": {"stringValue": "billing.invoices"}},
            {"key": "exception.type", "value": {"stringValue": "KeyError"}},
            {"key": "exception.message", "value": {"stringValue": "'sku'"}},
        ],
    )
    resource = [
        {"key": "service.name", "value": {"stringValue": "billing"}},
        {"key": "deployment.environment", "value": {"stringValue": "staging"}},
        {"key": "host.name", "value": {"stringValue": "h9"}},
        {"key": "process.pid", "value": {"intValue": 77}},
        {"key": "cloud.region", "value": {"stringValue": "eu-west-1"}},
    ]
    response = _post(server_url, project_key[1], _request(record, resource=resource))
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {}
    [row] = stored(migrated_database_url, project_key[0])
    assert row["level"] == "ERROR"
    assert orjson.loads(row["message"]) == {"a": 1}
    assert (row["service"], row["environment"], row["host"], row["pid"]) == (
        "billing", "staging", "h9", 77
    )  # fmt: skip
    assert (row["thread_id"], row["module"], row["trace_id"]) == ("12", "billing.invoices", TRACE)
    assert (row["error_type"], row["error_message"]) == ("KeyError", "'sku'")
    assert row["extra"] == {
        "count": 9007199254740993,
        "ok": True,
        "ratio": 0.25,
        "tags": ["x"],
        "thread.name": "worker-1",
        "code.namespace": "billing.invoices",
        "cloud.region": "eu-west-1",
        "otel.scope.name": "my.library",
        "otel.scope.version": "1.0.0",
        "span_id": SPAN,
    }


@pytest.mark.parametrize(
    ("number", "text", "level"),
    [(1, "", "DEBUG"), (5, "", "DEBUG"), (12, "", "INFO"), (13, "", "WARN"), (20, "", "ERROR"),
     (24, "", "FATAL"), (0, "warning", "WARN"), (0, "TRACE", "DEBUG"), (0, "", "INFO")],
)  # fmt: skip
def test_severity_ranges_map_to_levels(
    server_url, project_key, migrated_database_url, number, text, level
) -> None:
    """Severity numbers map by range of four; unset, the severity text decides."""
    response = _post(server_url, project_key[1], _request(_record(severityNumber=number,
                                                                  severityText=text)))  # fmt: skip
    assert response.status_code == 200
    assert [r["level"] for r in stored(migrated_database_url, project_key[0])] == [level]


def test_observed_time_is_used_when_time_is_unset(
    server_url, project_key, migrated_database_url
) -> None:
    """``observed_time_unix_nano`` stands in for a zero ``time_unix_nano``."""
    observed = _now_ns()
    record = _record(timeUnixNano="0", observedTimeUnixNano=str(observed))
    assert _post(server_url, project_key[1], _request(record)).status_code == 200
    [row] = stored(migrated_database_url, project_key[0])
    assert int(row["timestamp"].timestamp() * 1_000_000) == observed // 1000


def test_a_retried_export_is_stored_once(server_url, project_key, migrated_database_url) -> None:
    """The same request sent twice (protobuf and JSON) stores each record once; identical
    records at different positions are both kept."""
    twin = _record()
    body = _request(twin, dict(twin), _record(body={"stringValue": "other"}))
    for _ in range(2):
        assert _post(server_url, project_key[1], body).status_code == 200
    message = ExportLogsServiceRequest()
    message.resource_logs.add().scope_logs.add().log_records.add(
        time_unix_nano=_now_ns(), severity_number=9
    ).body.string_value = "proto"
    for _ in range(2):
        response = _post(server_url, project_key[1], message.SerializeToString(), PROTOBUF)
        assert response.status_code == 200
    rows = stored(migrated_database_url, project_key[0])
    assert sorted(r["message"] for r in rows) == ["hello", "hello", "other", "proto"]


def test_invalid_records_are_a_partial_success(
    server_url, project_key, migrated_database_url
) -> None:
    """Bad records are rejected alone and counted; the good ones are stored (a time out of
    the retention range is replaced as natively, the sent one kept)."""
    huge = {"key": "n", "value": {"intValue": "99999999999999999999"}}  # beyond int64
    body = _request(
        _record(),
        _record(traceId="xyz"),
        _record(timeUnixNano="999999999999999999999"),
        _record(timeUnixNano="99999999999999999999"),
        _record(attributes=[huge]),
    )
    response = _post(server_url, project_key[1], body)
    assert response.status_code == 200
    partial = response.json()["partialSuccess"]
    assert partial["rejectedLogRecords"] == "3"
    assert "record 1: traceId must be 32 hexadecimal digits" in partial["errorMessage"]
    assert "record 2: time_unix_nano" in partial["errorMessage"]
    assert "record 4: intValue must be a 64-bit integer" in partial["errorMessage"]
    rows = stored(migrated_database_url, project_key[0])
    assert len(rows) == 2
    assert [r["original_timestamp"] for r in rows].count("5138-11-16T09:46:39.999999+00:00") == 1


def test_protobuf_partial_success_is_protobuf(server_url, project_key) -> None:
    """A protobuf request is answered with a protobuf ExportLogsServiceResponse."""
    message = ExportLogsServiceRequest()
    records = message.resource_logs.add().scope_logs.add().log_records
    records.add(time_unix_nano=_now_ns(), severity_number=9).body.string_value = "ok"
    records.add(time_unix_nano=_now_ns(), trace_id=b"short").body.string_value = "bad"
    response = _post(server_url, project_key[1], message.SerializeToString(), PROTOBUF)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/x-protobuf"
    answer = ExportLogsServiceResponse.FromString(response.content)
    assert answer.partial_success.rejected_log_records == 1
    assert "trace_id must be 16 bytes" in answer.partial_success.error_message


def test_every_record_rejected_is_400(server_url, project_key, migrated_database_url) -> None:
    """When nothing is stored the status says so: 400, not a 200 with a partial success."""
    response = _post(server_url, project_key[1], _request(_record(spanId="00")))
    assert response.status_code == 400
    assert "1 of 1 log records rejected" in response.json()["message"]
    assert stored(migrated_database_url, project_key[0]) == []


def test_empty_export_is_accepted(server_url, project_key) -> None:
    """An empty request (no records) is a success, in either encoding."""
    assert _post(server_url, project_key[1], {}).status_code == 200
    response = _post(server_url, project_key[1], b"", PROTOBUF)
    assert response.status_code == 200
    assert response.content == b""


@pytest.mark.parametrize(
    ("body", "headers", "status", "error"),
    [
        (b"{not json", JSON, 400, "not valid JSON"),
        (b"[1, 2]", JSON, 400, "request must be a JSON object"),
        (b'{"resourceLogs": {}}', JSON, 400, "must be an array"),
        (b"\xff\xff\xff\xff", PROTOBUF, 400, None),
        (b"{}", {"Content-Type": "text/plain"}, 415, "Content-Type"),
        (b"{}", {**JSON, "Content-Encoding": "zstd"}, 415, "Content-Encoding"),
        (b"\x1f\x8b garbage", {**JSON, "Content-Encoding": "gzip"}, 400, "not valid gzip"),
    ],
)
def test_undecodable_bodies_are_4xx(server_url, project_key, body, headers, status, error) -> None:
    """Bodies that cannot be decoded get a 4xx with a google.rpc.Status, never a 5xx."""
    response = _post(server_url, project_key[1], body, headers)
    assert response.status_code == status
    if error is not None:
        assert error in response.json()["message"]


def test_protobuf_errors_are_a_protobuf_status(server_url, project_key) -> None:
    """A protobuf request's error body is a google.rpc.Status in protobuf (code 3)."""
    response = _post(server_url, project_key[1], b"\xff\xff\xff\xff", PROTOBUF)
    assert response.status_code == 400
    assert response.content.startswith(b"\x08\x03\x12")
    assert b"ExportLogsServiceRequest" in response.content


def test_authentication_by_header_or_bearer(server_url, project_key) -> None:
    """x-api-key and Authorization: Bearer both work; nothing or a bad key is 401."""
    body = orjson.dumps(_request(_record()))
    url = f"{server_url}/v1/logs"
    bearer = {"Authorization": f"Bearer {project_key[1]}", **JSON}
    assert httpx.post(url, content=body, headers=bearer).status_code == 200
    assert httpx.post(url, content=body, headers=JSON).status_code == 401
    assert _post(server_url, "th_unknown", body).status_code == 401
    assert httpx.get(url).status_code == 405


def test_size_and_count_limits_are_the_native_ones(server_url, project_key) -> None:
    """More records than a native batch, or a gzip bomb, is 413."""
    many = _request(*[_record() for _ in range(MAX_ENTRIES_PER_BATCH + 1)])
    assert _post(server_url, project_key[1], many).status_code == 413
    bomb = zlib.compressobj(9, zlib.DEFLATED, 31)
    payload = bomb.compress(b" " * (MAX_DECOMPRESSED_BYTES + 10)) + bomb.flush()
    response = _post(server_url, project_key[1], payload, {**JSON, "Content-Encoding": "gzip"})
    assert response.status_code == 413
    small = gzip.compress(orjson.dumps(_request(_record())))
    assert (
        _post(server_url, project_key[1], small, {**JSON, "Content-Encoding": "gzip"}).status_code
        == 200
    )


def test_rate_limit_is_429_with_retry_after(migrated_database_url, tmp_path: Path) -> None:
    """Over the project's rate limit the answer is 429 with Retry-After (exporters retry)."""
    project_id, key = new_project(migrated_database_url)
    settings = Settings(
        database_url=migrated_database_url, data_dir=tmp_path, rate_limit_per_second=0.01
    )
    with live_server(settings) as url:
        assert _post(url, key, _request(_record(), _record())).status_code == 200
        response = _post(url, key, _request(_record()))
    assert response.status_code == 429
    assert int(response.headers["retry-after"]) >= 1
    assert response.json()["code"] == 8
    assert len(stored(migrated_database_url, project_id)) == 2


class _BrokenQueue(InProcessQueue):
    """The queue seam failing to make a batch durable (a broker outage)."""

    async def publish(self, batch: Any) -> None:
        raise QueueUnavailable("broker unreachable")


async def test_queue_unavailable_is_503_with_retry_after(
    migrated_database_url, tmp_path: Path, pool, api_key
) -> None:
    """When the queue cannot take the batch the answer is 503 with Retry-After."""
    settings = Settings(database_url=migrated_database_url, data_dir=tmp_path)
    async for client in open_client(settings):
        ingest = client.app.state.ingest
        ingest.queue = _BrokenQueue(pool, digest)
        body = orjson.dumps(_request(_record()))
        response = await client.post(
            "/v1/logs", content=body, headers={"x-api-key": api_key, **JSON}
        )
    assert response.status_code == 503
    assert int(response.headers["retry-after"]) >= 1
    assert response.json()["code"] == 14
