"""POST /api/v1/ingest against a real app, PostgreSQL and RabbitMQ: every status code."""

from __future__ import annotations

import asyncio
import gzip
from collections.abc import Callable
from typing import Any

import httpx
import orjson
import pytest
from ingest_helpers import entry, open_client

from tracehub.limits import MAX_BODY_BYTES, MAX_DECOMPRESSED_BYTES, MAX_ENTRIES_PER_BATCH
from tracehub_server.settings import Settings
from tracehub_server.storage.projects import revoke_api_key

URL = "/api/v1/ingest"


def _post(client: httpx.AsyncClient, key: str | None, body: Any, **headers: str):
    if key is not None:
        headers["X-API-Key"] = key
    content = body if isinstance(body, bytes) else orjson.dumps(body)
    return client.post(URL, content=content, headers=headers)


async def test_valid_batch_is_published_and_acknowledged(client, api_key, drain, project) -> None:
    """A good batch answers 202 with its count and lands in the queue as one message."""
    entries = [entry(), entry(level="ERROR", error_type="ValueError", stack_trace="tb")]
    response = await _post(client, api_key, entries)
    assert response.status_code == 202
    assert response.json() == {"accepted": 2, "rejected": []}
    [batch] = await drain()
    assert batch.project_id == project.id
    assert [e["event_id"] for e in batch.entries] == [e["event_id"] for e in entries]
    assert batch.entries[1]["error_type"] == "ValueError"


async def test_gzip_body_is_inflated(client, api_key, drain) -> None:
    """A gzip-encoded body is accepted like a plain one."""
    body = gzip.compress(orjson.dumps([entry() for _ in range(10)]))
    response = await _post(client, api_key, body, **{"Content-Encoding": "gzip"})
    assert response.status_code == 202
    assert response.json()["accepted"] == 10
    assert sum(len(b.entries) for b in await drain()) == 10


@pytest.mark.parametrize(
    ("key", "status", "error"),
    [
        (None, 401, "missing X-API-Key"),
        ("", 401, "missing X-API-Key"),
        ("th_" + "x" * 43, 401, "unknown API key"),
        ("not-a-key", 401, "unknown API key"),
        ("th_" + "y" * 5000, 401, "unknown API key"),
    ],
)
async def test_missing_or_unknown_key_is_401(client, key, status, error) -> None:
    """No key, an unknown key or a hostile one answers 401 with a JSON error."""
    response = await _post(client, key, [entry()])
    assert response.status_code == status
    assert response.headers["content-type"] == "application/json"
    assert error in response.json()["error"]


async def test_revoked_key_is_403(client, api_key, pool) -> None:
    """A revoked key answers 403 (cache disabled: at once)."""
    assert (await _post(client, api_key, [entry()])).status_code == 202
    async with pool.acquire() as conn:
        key_id = await conn.fetchval("SELECT max(id) FROM api_keys")
        await revoke_api_key(conn, key_id)
    response = await _post(client, api_key, [entry()])
    assert response.status_code == 403
    assert "revoked" in response.json()["error"]


@pytest.mark.parametrize(
    ("body", "headers", "message"),
    [
        (b"[{", {}, "not valid JSON"),
        (b"", {}, "body is empty"),
        (b"   ", {}, "body is empty"),
        (b'{"level": "INFO"}', {}, "must be a JSON array"),
        (b"42", {}, "must be a JSON array"),
        (b"\xff\xfe[]", {}, "not valid JSON"),
        (b"[" * 5000 + b"]" * 5000, {}, "not valid JSON"),
        (b"this is not gzip", {"Content-Encoding": "gzip"}, "not valid gzip"),
        (gzip.compress(b"[]")[:-6], {"Content-Encoding": "gzip"}, "truncated"),
        (gzip.compress(b"[]") + b"junk", {"Content-Encoding": "gzip"}, "after the end"),
        (gzip.compress(b"{nope"), {"Content-Encoding": "gzip"}, "not valid JSON"),
    ],
)
async def test_malformed_bodies_are_400(client, api_key, body, headers, message) -> None:
    """Malformed JSON, non-arrays and broken gzip answer 400 saying what is wrong."""
    response = await _post(client, api_key, body, **headers)
    assert response.status_code == 400
    assert message in response.json()["error"]


async def test_unsupported_encoding_is_415(client, api_key) -> None:
    """A Content-Encoding other than gzip or none is refused by name."""
    response = await _post(client, api_key, b"[]", **{"Content-Encoding": "br"})
    assert response.status_code == 415
    assert "br" in response.json()["error"]


async def test_gzip_bomb_is_stopped_at_the_decompressed_limit(client, api_key) -> None:
    """A small gzip body inflating past the limit answers 413, never fully inflated."""
    bomb = gzip.compress(b"[" + b" " * (MAX_DECOMPRESSED_BYTES + 1024 * 1024) + b"]", 9)
    assert len(bomb) < MAX_BODY_BYTES
    response = await _post(client, api_key, bomb, **{"Content-Encoding": "gzip"})
    assert response.status_code == 413
    assert "decompressed" in response.json()["error"]


async def test_oversized_body_is_413(client, api_key) -> None:
    """A body over the compressed limit answers 413, declared or streamed."""
    big = b"[" + b" " * MAX_BODY_BYTES + b"]"
    assert (await _post(client, api_key, big)).status_code == 413

    async def chunks():
        for _ in range(MAX_BODY_BYTES // 65536 + 2):
            yield b" " * 65536

    response = await client.post(URL, content=chunks(), headers={"X-API-Key": api_key})
    assert response.status_code == 413


async def test_too_many_entries_is_413(client, api_key) -> None:
    """More entries than the per-request limit answers 413."""
    response = await _post(client, api_key, [{}] * (MAX_ENTRIES_PER_BATCH + 1))
    assert response.status_code == 413
    assert str(MAX_ENTRIES_PER_BATCH) in response.json()["error"]


async def test_each_entry_is_validated_on_its_own(client, api_key, drain) -> None:
    """Bad entries are listed by index; the good ones in the same batch are accepted."""
    entries = [
        entry(),
        "not an object",
        entry(level="LOUD"),
        entry(message=None),
        entry(timestamp="yesterday"),
        entry(event_id="xyz"),
        entry(pid="42"),
        entry(extra=[1, 2]),
        entry(),
    ]
    response = await _post(client, api_key, entries)
    assert response.status_code == 202
    body = response.json()
    assert body["accepted"] == 2
    assert [r["index"] for r in body["rejected"]] == [1, 2, 3, 4, 5, 6, 7]
    assert all(r["error"] for r in body["rejected"])
    [batch] = await drain()
    assert len(batch.entries) == 2


async def test_all_rejected_is_422_and_publishes_nothing(client, api_key, drain) -> None:
    """A batch with no valid entry answers 422 with the per-entry reasons, publishes nothing."""
    response = await _post(client, api_key, [{"level": "nope"}, {"level": "INFO"}])
    assert response.status_code == 422
    assert response.json()["accepted"] == 0
    assert [r["index"] for r in response.json()["rejected"]] == [0, 1]
    assert await drain() == []


async def test_some_rejected_is_still_202(client, api_key, drain) -> None:
    """One storable entry is enough for 202; the refused ones are listed."""
    response = await _post(client, api_key, [{"level": "nope"}, entry()])
    assert response.status_code == 202
    assert response.json()["accepted"] == 1


async def test_entries_without_event_id_get_the_same_id_when_resent(client, api_key, drain) -> None:
    """A byte-identical resend (gzip or not) carries the same derived ids; another body not."""
    body = orjson.dumps([entry(event_id=None), entry(event_id=None)])
    await _post(client, api_key, body)
    await _post(client, api_key, gzip.compress(body), **{"Content-Encoding": "gzip"})
    await _post(client, api_key, body.replace(b"user logged in", b"user logged out"))
    first, again, other = [[e["event_id"] for e in b.entries] for b in await drain()]
    assert first == again
    assert len(set(first)) == 2
    assert not set(first) & set(other)


async def test_empty_array_is_accepted(client, api_key, drain) -> None:
    """An empty array is a valid (empty) batch."""
    response = await _post(client, api_key, [])
    assert response.status_code == 202
    assert response.json() == {"accepted": 0, "rejected": []}


async def test_nulls_levels_and_timestamps_are_normalised(client, api_key, drain) -> None:
    """Null optionals are absent, level aliases map, bad-range timestamps are replaced."""
    entries = [
        entry(module=None, extra=None, trace_id=None, event_id=None, host=None),
        entry(level="warning"),
        entry(level="Critical"),
        entry(timestamp="2001-01-01T00:00:00Z"),
        entry(timestamp="3000-01-01T00:00:00+00:00"),
        entry(timestamp=None),
    ]
    response = await _post(client, api_key, entries)
    assert response.json() == {"accepted": 6, "rejected": []}
    [batch] = await drain()
    got = batch.entries
    assert got[0]["module"] is None
    assert got[0]["extra"] is None
    assert len(got[0]["event_id"]) == 32
    assert got[1]["level"] == "WARN"
    assert got[2]["level"] == "FATAL"
    assert got[3]["timestamp"] == got[3]["received_at"]
    assert got[3]["original_timestamp"] == "2001-01-01T00:00:00Z"
    assert got[4]["original_timestamp"] == "3000-01-01T00:00:00+00:00"
    assert got[5]["timestamp"] == got[5]["received_at"]
    assert got[5]["original_timestamp"] is None


async def test_concurrent_requests_each_publish_once(client, api_key, drain) -> None:
    """Concurrent requests are all accepted and every entry is published exactly once."""
    batches = [[entry() for _ in range(50)] for _ in range(20)]
    responses = await asyncio.gather(*(_post(client, api_key, b) for b in batches))
    assert [r.status_code for r in responses] == [202] * 20
    published = [e["event_id"] for b in await drain() for e in b.entries]
    assert sorted(published) == sorted(e["event_id"] for b in batches for e in b)


async def test_rate_limit_answers_429_with_retry_after(
    make_settings: Callable[..., Settings], api_key: str
) -> None:
    """Past the per-project rate the API answers 429 with Retry-After."""
    async for client in open_client(make_settings(rate_limit_per_second=10)):
        assert (await _post(client, api_key, [entry() for _ in range(50)])).status_code == 202
        response = await _post(client, api_key, [entry()])
        assert response.status_code == 429
        assert int(response.headers["Retry-After"]) >= 1


async def test_queue_depth_cap_answers_429(
    make_settings: Callable[..., Settings], api_key: str, drain
) -> None:
    """Once the queue is deeper than max_queue_depth the API answers 429 (bounded wait)."""
    async for client in open_client(make_settings(max_queue_depth=2)):
        statuses = []
        for _ in range(60):  # the depth is sampled at most once a second: bounded by ~3 s
            response = await _post(client, api_key, [entry()])
            statuses.append(response.status_code)
            if response.status_code == 429:
                assert response.headers["Retry-After"]
                break
            await asyncio.sleep(0.05)
        assert statuses[-1] == 429
        assert set(statuses[:-1]) == {202}
    await drain()


async def test_broker_down_answers_503(
    make_settings: Callable[..., Settings], api_key: str, unused_port: int
) -> None:
    """With the broker unreachable a batch answers 503 with Retry-After, never 202."""
    settings = make_settings(amqp_url=f"amqp://guest:guest@127.0.0.1:{unused_port}/")
    async for client in open_client(settings):
        response = await _post(client, api_key, [entry()])
        assert response.status_code == 503
        assert response.headers["Retry-After"]
        ready = await client.get("/readyz")
        assert ready.status_code == 503
        assert ready.json()["database"] == "ok"


async def test_hostile_field_values_are_cleaned_not_fatal(client, api_key, drain) -> None:
    """NUL characters, huge fields and huge extra are made storable, with markers."""
    entries = [
        entry(message="a\x00b", extra={"k\x00": "v\x00", "n": [1, {"x": "\x00"}]}),
        entry(message="m" * 100_000, stack_trace="s" * 200_000),
        entry(extra={"blob": "x" * 50_000}),
        entry(service="s" * 1000, trace_id="t" * 1000),
        entry(thread_id=2**64 - 1),
    ]
    response = await _post(client, api_key, entries)
    assert response.json() == {"accepted": 5, "rejected": []}
    got = (await drain())[0].entries
    assert "\x00" not in orjson.dumps(got).decode()
    assert "truncated" in got[1]["message"]
    assert len(got[1]["message"]) <= 32_768
    assert got[2]["extra"]["_truncated"] is True
    assert len(got[3]["service"]) <= 256
    assert got[4]["thread_id"] == "18446744073709551615"


async def test_key_use_is_recorded_in_batches(client, api_key, pool) -> None:
    """Requests note the key's use in memory; one flush writes last_used_at."""
    assert (await _post(client, api_key, [entry()])).status_code == 202
    await client.app.state.ingest.usage.flush()  # type: ignore[attr-defined]
    async with pool.acquire() as conn:
        used = await conn.fetchval(
            "SELECT last_used_at FROM api_keys WHERE key_hash = sha256($1::bytea)",
            api_key.encode(),
        )
    assert used is not None


async def test_health_and_metrics(make_settings, api_key) -> None:
    """/healthz, /readyz and /metrics (when public) answer, the metrics naming the counters."""
    async for client in open_client(make_settings(metrics_public=True)):
        await _health_and_metrics(client, api_key)


async def test_metrics_are_off_the_public_port_by_default(client) -> None:
    """Without TRACEHUB_METRICS_PUBLIC, /metrics is a 404."""
    assert (await client.get("/metrics")).status_code == 404


async def _health_and_metrics(client, api_key) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    ready = await client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["queue"] == "ok"
    await _post(client, api_key, [entry(), {"level": 1}])
    text = (await client.get("/metrics")).text
    for name in (
        "tracehub_ingest_entries_accepted_total",
        "tracehub_ingest_entries_rejected_total",
        "tracehub_ingest_publish_seconds",
    ):
        assert name in text


async def test_database_down_answers_503(make_settings) -> None:
    """If the key lookup cannot reach PostgreSQL the API answers 503, not 500."""
    async for client in open_client(make_settings()):
        await client.app.state.pool.close()  # type: ignore[attr-defined]
        response = await _post(client, "th_" + "k" * 43, [entry()])
        assert response.status_code == 503
        assert response.headers["Retry-After"]


async def test_other_methods_are_405(client) -> None:
    """GET/PUT on the ingest path answer 405 with Allow: POST, without touching the key."""
    for method in ("GET", "PUT", "DELETE"):
        response = await client.request(method, URL)
        assert response.status_code == 405
        assert response.headers["allow"] == "POST"
        assert "POST" in response.json()["error"]


async def test_client_gone_mid_body_publishes_nothing(client, api_key, drain) -> None:
    """A client that disconnects before the body ends gets no answer and nothing is queued."""
    service = client.app.state.ingest  # type: ignore[attr-defined]
    from tracehub_server.api.ingest import serve

    messages = [
        {"type": "http.request", "body": b'[{"level": "INFO", ', "more_body": True},
        {"type": "http.disconnect"},
    ]
    sent: list[dict] = []

    async def receive() -> dict:
        return messages.pop(0)

    async def send(message: dict) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "method": "POST",
        "path": URL,
        "headers": [(b"x-api-key", api_key.encode())],
    }
    await asyncio.wait_for(serve(service, scope, receive, send), 10)
    assert sent == []
    assert await drain() == []


async def _serve_raw(client, headers: list[tuple[bytes, bytes]], body: bytes) -> tuple[int, dict]:
    """Drive the ingest view directly with raw ASGI headers (no client normalisation)."""
    from tracehub_server.api.ingest import serve

    sent: list[dict] = []
    messages = [{"type": "http.request", "body": body, "more_body": False}]

    async def receive() -> dict:
        return messages.pop(0)

    async def send(message: dict) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": URL, "headers": headers}
    await asyncio.wait_for(serve(client.app.state.ingest, scope, receive, send), 10)
    return sent[0]["status"], orjson.loads(sent[1]["body"])


async def test_headers_are_read_case_insensitively_and_hostile_ones_refused(
    client, api_key
) -> None:
    """Header names in any case work; hostile Content-Length or encoding values are refused."""
    body = orjson.dumps([entry()])
    ok = await client.post(URL, content=body, headers={"x-API-key": api_key})
    assert ok.status_code == 202
    key = (b"x-api-key", api_key.encode())
    cases = [
        ([key, (b"content-length", b"12abc")], 400, "Content-Length"),
        ([key, (b"content-length", b"9" * 40)], 413, "limit"),
        ([key, (b"content-encoding", b"\xff" * 100)], 415, "Content-Encoding"),
        ([(b"x-api-key", b"\xff\xfe" * 2000)], 401, "unknown API key"),
    ]
    for headers, status, message in cases:
        got_status, got = await _serve_raw(client, headers, body)
        assert got_status == status
        assert message in got["error"]
