"""Large ingest bodies (native, OTLP, Sentry) parsed in the child process answer exactly as
inline ones do."""

from __future__ import annotations

import os
import pickle
import secrets
import time

import orjson
import pytest
from ingest_helpers import entry
from offload_probe import PidRecordingParser

from tracehub_server.api import offload
from tracehub_server.api.body import BodyError
from tracehub_server.api.intake import Refusal
from tracehub_server.api.offload import OFFLOAD_BYTES, BodyParser


def test_body_errors_survive_the_trip_back_from_the_child() -> None:
    """A BodyError raised in the parser child pickles with its status and flags."""
    sent = pickle.dumps(BodyError(503, "busy", retry_after=2, close=True))
    error = pickle.loads(sent)  # noqa: S301 - our own bytes, as multiprocessing does
    assert (error.status, error.message, error.retry_after, error.close) == (503, "busy", 2, True)


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (b"[" + b"1," * OFFLOAD_BYTES, 400),  # broken JSON
        (orjson.dumps({"pad": "x" * OFFLOAD_BYTES}), 400),  # not an array
    ],
)
async def test_large_bad_bodies_are_400_not_500(client, api_key, body: bytes, status: int) -> None:
    """Malformed bodies above the offload size get the same 400 as small ones."""
    r = await client.post("/api/v1/ingest", content=body, headers={"X-API-Key": api_key})
    assert r.status_code == status, r.text
    assert "body" in r.json()["error"]


async def test_large_valid_bodies_are_accepted(client, api_key, drain) -> None:
    """A batch above the offload size is validated in the child and published whole."""
    entries = [entry(message="m" * 2000) for _ in range(200)]
    body = orjson.dumps(entries)
    assert len(body) > OFFLOAD_BYTES
    r = await client.post("/api/v1/ingest", content=body, headers={"X-API-Key": api_key})
    assert r.status_code == 202, r.text
    assert r.json()["accepted"] == 200
    assert sum(len(batch.entries) for batch in await drain()) == 200


def _otlp_body(records: int, pad: int) -> bytes:
    """An OTLP/JSON export of ``records`` records, each with a ``pad``-character body."""
    now = str(time.time_ns() - 60_000_000_000)
    record = {"timeUnixNano": now, "severityNumber": 9, "body": {"stringValue": "x" * pad}}
    scope = {"scope": {"name": "lib"}, "logRecords": [record] * records}
    resource = {"attributes": [{"key": "service.name", "value": {"stringValue": "api"}}]}
    return orjson.dumps({"resourceLogs": [{"resource": resource, "scopeLogs": [scope]}]})


def _sentry_event(pad: int) -> bytes:
    """A Sentry ``store`` event whose ``extra`` holds ``pad`` characters."""
    return orjson.dumps(
        {"event_id": secrets.token_hex(16), "level": "error", "message": "boom",
         "platform": "python", "extra": {"pad": "x" * pad}}
    )  # fmt: skip


@pytest.mark.parametrize("protocol", ["otlp", "sentry"])
async def test_large_protocol_bodies_are_mapped_in_the_parser_child(
    client, api_key, project, drain, protocol: str
) -> None:
    """OTLP and Sentry bodies above the offload size are decoded, mapped and validated in the
    parser child, not on the event loop; small ones stay inline."""
    parser = PidRecordingParser(threshold=OFFLOAD_BYTES)
    client.app.state.ingest.parser = parser
    if protocol == "otlp":
        url, headers = "/v1/logs", {"Content-Type": "application/json", "X-API-Key": api_key}
        small, large = _otlp_body(2, 10), _otlp_body(40, OFFLOAD_BYTES // 20)
    else:
        url = f"/api/{project.id}/store/"
        headers = {"X-Sentry-Auth": f"Sentry sentry_key={api_key}, sentry_version=7"}
        small, large = _sentry_event(10), _sentry_event(OFFLOAD_BYTES)
    assert len(small) < OFFLOAD_BYTES <= len(large)
    for body in (small, large):
        r = await client.post(url, content=body, headers=headers)
        assert r.status_code == 200, r.text
    (small_fn, small_pid), (large_fn, large_pid) = parser.runs
    assert small_fn == large_fn == "_map_and_validate"
    assert small_pid == os.getpid()
    assert large_pid != os.getpid()
    expected = 2 + 40 if protocol == "otlp" else 2
    assert sum(len(batch.entries) for batch in await drain()) == expected


async def test_an_undecodable_large_otlp_body_is_a_400_from_the_child(client, api_key) -> None:
    """The decoder's error crosses back from the parser child: 400, not 500."""
    client.app.state.ingest.parser = PidRecordingParser(threshold=OFFLOAD_BYTES)
    headers = {"Content-Type": "application/json", "X-API-Key": api_key}
    body = orjson.dumps({"resourceLogs": "x" * OFFLOAD_BYTES})
    r = await client.post("/v1/logs", content=body, headers=headers)
    assert r.status_code == 400, r.text


def test_refusals_survive_the_trip_back_from_the_child() -> None:
    """A Refusal raised by a mapping in the parser child pickles with its status."""
    error = pickle.loads(pickle.dumps(Refusal(413, "too many", retry_after=None)))  # noqa: S301
    assert (error.status, error.message, error.retry_after) == (413, "too many", None)


def test_start_spawns_the_parser_children_before_any_body(monkeypatch) -> None:
    """BodyParser.start() (run by the app's start-up) spawns its processes at once, so the
    first large body of a burst does not pay for a child's spawn and imports."""
    monkeypatch.setattr(offload, "_executor", None)
    BodyParser(processes=2, threshold=OFFLOAD_BYTES).start()
    executor = offload._executor
    assert executor is not None
    try:
        assert len(executor._processes) == 2  # spawned by start(), not by a first run()
    finally:
        executor.shutdown(wait=True)


def test_start_without_processes_spawns_nothing(monkeypatch) -> None:
    """With TRACEHUB_PARSE_PROCESSES=0 (always inline) start() creates no pool."""
    monkeypatch.setattr(offload, "_executor", None)
    BodyParser(processes=0).start()
    assert offload._executor is None
