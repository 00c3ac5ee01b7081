"""Envelopes and store bodies built by hand: dropped item types, retries, errors, throttling."""

from __future__ import annotations

import base64
import gzip
import secrets
import zlib
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
import sentry_sdk
from ingest_helpers import open_client
from live_server import live_server, new_project, stored
from prometheus_client import REGISTRY

from tracehub.limits import MAX_DECOMPRESSED_BYTES, MAX_ENTRIES_PER_BATCH
from tracehub_server.queue.base import QueueUnavailable
from tracehub_server.queue.inprocess import InProcessQueue
from tracehub_server.settings import Settings
from tracehub_server.worker.digest import digest


def _auth(key: str) -> dict[str, str]:
    return {"X-Sentry-Auth": f"Sentry sentry_key={key}, sentry_version=7, sentry_client=test/1"}


def _event(**fields: Any) -> dict[str, Any]:
    base = {
        "event_id": secrets.token_hex(16),
        "timestamp": (datetime.now(timezone.utc) - timedelta(minutes=1)).isoformat(),
        "level": "error",
        "platform": "python",
        "message": "something broke",
    }
    base.update(fields)
    return base


def _envelope(*items: tuple[dict[str, Any], bytes], header: dict[str, Any] | None = None) -> bytes:
    lines = [orjson.dumps(header or {})]
    for item_header, payload in items:
        lines += [orjson.dumps(item_header), payload]
    return b"\n".join(lines) + b"\n"


def _event_item(event: dict[str, Any], *, with_length: bool = True) -> tuple[dict, bytes]:
    payload = orjson.dumps(event)
    header: dict[str, Any] = {"type": "event"}
    if with_length:
        header["length"] = len(payload)
    return header, payload


def _post(url: str, project_id: int, body: bytes, headers: dict[str, str], kind="envelope"):
    return httpx.post(f"{url}/api/{project_id}/{kind}/", content=body, headers=headers)


def _dropped(kind: str) -> float:
    sample = REGISTRY.get_sample_value("tracehub_sentry_items_dropped_total", {"type": kind})
    return sample or 0.0


def test_events_are_stored_and_other_items_dropped_and_counted(
    server_url, project_key, migrated_database_url
) -> None:
    """event items are stored; transactions, sessions, client reports and unknown types are
    accepted, dropped and counted by type."""
    project_id, key = project_key
    first, second = _event(), _event(message="second")
    before = {kind: _dropped(kind) for kind in ("transaction", "session", "client_report", "other")}
    body = _envelope(
        _event_item(first),
        ({"type": "transaction"}, b'{"type": "transaction"}'),
        ({"type": "session", "length": 2}, b"{}"),
        ({"type": "client_report"}, b'{"discarded_events": []}'),
        ({"type": "something_new"}, b"whatever"),
        _event_item(second, with_length=False),
        header={"event_id": first["event_id"]},
    )
    response = _post(server_url, project_id, body, _auth(key))
    assert response.status_code == 200
    assert response.json() == {"id": first["event_id"]}
    rows = stored(migrated_database_url, project_id)
    assert sorted(r["event_id"].hex for r in rows) == sorted(
        [first["event_id"], second["event_id"]]
    )
    for kind in before:
        assert _dropped(kind) == before[kind] + 1


def test_a_retried_envelope_is_stored_once(server_url, project_key, migrated_database_url) -> None:
    """The same envelope (an event and a log batch) twice stores each entry once."""
    project_id, key = project_key
    logs = {"items": [{"timestamp": datetime.now(timezone.utc).timestamp() - 5, "level": "info",
                       "body": "same", "attributes": {}}] * 2}  # fmt: skip
    log_payload = orjson.dumps(logs)
    body = _envelope(_event_item(_event()), ({"type": "log", "length": len(log_payload)},
                                             log_payload))  # fmt: skip
    for _ in range(2):
        assert _post(server_url, project_id, body, _auth(key)).status_code == 200
    rows = stored(migrated_database_url, project_id)
    assert sorted(r["message"] for r in rows) == ["same", "same", "something broke"]


def test_store_endpoint_takes_a_json_event(server_url, project_key, migrated_database_url) -> None:
    """The legacy store endpoint (key in the query string, deflate body) stores one event."""
    project_id, key = project_key
    event = _event(exception={"values": [{"type": "OSError", "value": "disk full"}]})
    del event["message"]
    response = httpx.post(
        f"{server_url}/api/{project_id}/store/?sentry_key={key}&sentry_version=7",
        content=zlib.compress(orjson.dumps(event)),
        headers={"Content-Encoding": "deflate", "Content-Type": "application/json"},
    )
    assert response.status_code == 200
    assert response.json() == {"id": event["event_id"]}
    [row] = stored(migrated_database_url, project_id)
    assert (row["message"], row["error_type"], row["stack_trace"]) == (
        "OSError: disk full", "OSError", None
    )  # fmt: skip


@pytest.mark.parametrize(
    ("body", "headers", "status", "detail"),
    [
        (b"", {}, 400, "body is empty"),
        (b"not json\n", {}, 400, "envelope header is not valid JSON"),
        (b'{}\n{"type": "event", "length": 999}\n{}', {}, 400, "beyond the body"),
        (b'{}\n{"length": 2}\n{}', {}, 400, "has no type"),
        (b'{}\n{"type": "event"}\n[1]', {}, 400, "must be a JSON object"),
        (b'{}\n{"type": "log"}\n{"x": 1}', {}, 400, "is not valid"),
        (b"{}", {"Content-Encoding": "zstd"}, 415, "Content-Encoding"),
        (b"\x1f\x8b broken", {"Content-Encoding": "gzip"}, 400, "not valid gzip"),
    ],
)
def test_bad_envelopes_are_400(server_url, project_key, body, headers, status, detail) -> None:
    """A body that is not an envelope gets a 4xx with a detail, never a 5xx."""
    project_id, key = project_key
    response = _post(server_url, project_id, body, {**_auth(key), **headers})
    assert response.status_code == status
    assert detail in response.json()["detail"]


def test_a_refused_entry_is_400_and_named(server_url, project_key, migrated_database_url) -> None:
    """An event the native validator refuses is a 400 naming why; the others are stored."""
    project_id, key = project_key
    body = _envelope(_event_item(_event(event_id="not-a-uuid")), _event_item(_event()))
    response = _post(server_url, project_id, body, _auth(key))
    assert response.status_code == 400
    assert response.json()["rejected"] == [
        {"index": 0, "error": "event_id must be a UUID (32 hexadecimal digits)"}
    ]
    assert len(stored(migrated_database_url, project_id)) == 1


def test_keys_are_checked_against_the_project(server_url, project_key, migrated_database_url):
    """No key or an unknown one is 401; a key of another project is 403."""
    project_id, key = project_key
    body = _envelope(_event_item(_event()))
    assert _post(server_url, project_id, body, {}).status_code == 401
    assert _post(server_url, project_id, body, _auth("th_nope")).status_code == 401
    other_id, _ = new_project(migrated_database_url)
    response = _post(server_url, other_id, body, _auth(key))
    assert response.status_code == 403
    assert "check the DSN" in response.json()["detail"]
    assert httpx.get(f"{server_url}/api/{project_id}/envelope/").status_code == 405


def test_native_limits_apply(server_url, project_key) -> None:
    """More entries than a native batch, or a gzip bomb, is 413."""
    project_id, key = project_key
    many = _envelope(*[_event_item(_event()) for _ in range(MAX_ENTRIES_PER_BATCH + 1)])
    assert _post(server_url, project_id, many, _auth(key)).status_code == 413
    bomb = zlib.compressobj(9, zlib.DEFLATED, 31)
    payload = bomb.compress(b" " * (MAX_DECOMPRESSED_BYTES + 10)) + bomb.flush()
    headers = {**_auth(key), "Content-Encoding": "gzip"}
    assert _post(server_url, project_id, payload, headers).status_code == 413
    small = gzip.compress(_envelope(_event_item(_event())))
    assert _post(server_url, project_id, small, headers).status_code == 200


def test_rate_limit_answers_429_and_the_sdk_backs_off(
    migrated_database_url, tmp_path: Path
) -> None:
    """Over the rate limit: 429 with Retry-After and X-Sentry-Rate-Limits; sentry-sdk then
    stops sending (nothing more reaches the server) instead of retrying in a loop."""
    project_id, key = new_project(migrated_database_url)
    settings = Settings(
        database_url=migrated_database_url, data_dir=tmp_path, rate_limit_per_second=0.01
    )
    with live_server(settings) as url:
        body = _envelope(_event_item(_event()), _event_item(_event()))
        assert _post(url, project_id, body, _auth(key)).status_code == 200
        response = _post(url, project_id, _envelope(_event_item(_event())), _auth(key))
        assert response.status_code == 429
        seconds = int(response.headers["retry-after"])
        assert response.headers["x-sentry-rate-limits"] == f"{seconds}::key"
        assert response.headers["access-control-allow-origin"] == "*"

        host = url.removeprefix("http://")
        sentry_sdk.init(dsn=f"http://{key}@{host}/{project_id}", default_integrations=False)
        try:
            before = _requests("429")
            sentry_sdk.capture_message("first", level="error")
            sentry_sdk.flush(timeout=10)
            seen = _requests("429")
            assert seen == before + 1
            sentry_sdk.capture_message("second", level="error")
            sentry_sdk.flush(timeout=10)
            assert _requests("429") == seen
        finally:
            sentry_sdk.get_client().close(timeout=5)
            sentry_sdk.init()
    assert len(stored(migrated_database_url, project_id)) == 2


def _requests(status: str) -> float:
    value = REGISTRY.get_sample_value(
        "tracehub_protocol_requests_total", {"protocol": "sentry", "status": status}
    )
    return value or 0.0


class _BrokenQueue(InProcessQueue):
    """The queue seam failing to make a batch durable (a broker outage)."""

    async def publish(self, batch: Any) -> None:
        raise QueueUnavailable("broker unreachable")


async def test_queue_unavailable_is_503_with_retry_after(
    migrated_database_url, tmp_path: Path, pool, project, api_key
) -> None:
    """When the queue cannot take the entries the answer is 503 with Retry-After."""
    settings = Settings(database_url=migrated_database_url, data_dir=tmp_path)
    async for client in open_client(settings):
        client.app.state.ingest.queue = _BrokenQueue(pool, digest)
        response = await client.post(
            f"/api/{project.id}/envelope/",
            content=_envelope(_event_item(_event())),
            headers=_auth(api_key),
        )
    assert response.status_code == 503
    assert int(response.headers["retry-after"]) >= 1
    assert "queue unavailable" in response.json()["detail"]


def test_a_preflight_allows_any_origin_and_the_sdk_headers(server_url, project_key) -> None:
    """OPTIONS (no key needed) allows POST from any origin with the headers browser SDKs,
    tunnels and tracing send, as Relay answers it."""
    project_id, _ = project_key
    for kind in ("envelope", "store"):
        response = httpx.options(
            f"{server_url}/api/{project_id}/{kind}/",
            headers={
                "Origin": "https://shop.example",
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "x-sentry-auth,content-type,sentry-trace,baggage",
            },
        )
        assert response.status_code == 200
        assert response.headers["access-control-allow-origin"] == "*"
        assert response.headers["access-control-allow-methods"] == "POST"
        allowed = {h.strip() for h in response.headers["access-control-allow-headers"].split(",")}
        assert {"x-sentry-auth", "content-type", "sentry-trace", "baggage"} <= allowed
        assert response.headers["access-control-max-age"] == "3600"
        assert "access-control-allow-credentials" not in response.headers


def test_every_answer_is_readable_cross_origin(server_url, project_key) -> None:
    """A 200 (key in the query string, as browser SDKs send it), 400, 401, 403 and 405 all
    carry Allow-Origin and expose the headers an SDK reads; a refusal says why in
    X-Sentry-Error."""
    project_id, key = project_key
    query = f"sentry_key={key}&sentry_version=7&sentry_client=sentry.javascript.browser%2F11.17.0"
    url = f"{server_url}/api/{project_id}/envelope/"
    text = {"Content-Type": "text/plain;charset=UTF-8", "Origin": "https://shop.example"}
    body = _envelope(_event_item(_event()))
    answers = {
        200: httpx.post(f"{url}?{query}", content=body, headers=text),
        400: httpx.post(f"{url}?{query}", content=b"nope", headers=text),
        401: httpx.post(url, content=body, headers=text),
        403: httpx.post(f"{server_url}/api/{project_id + 1}/envelope/?{query}", content=body),
        405: httpx.get(f"{url}?{query}"),
    }
    for status, response in answers.items():
        assert response.status_code == status
        assert response.headers["access-control-allow-origin"] == "*"
        exposed = response.headers["access-control-expose-headers"]
        assert exposed == "x-sentry-error, x-sentry-rate-limits, retry-after"
        if status != 200:
            assert response.headers["x-sentry-error"] == response.json()["detail"]
    assert answers[405].headers["allow"] == "POST, OPTIONS"


def _tunnelled(key: str, project_id: int, event: dict[str, Any]) -> bytes:
    dsn = f"https://{key}@tracehub.example/{project_id}"
    header = {"event_id": event["event_id"], "sent_at": event["timestamp"], "dsn": dsn}
    return _envelope(_event_item(event), header=header)


def test_a_tunnelled_envelope_is_authenticated_by_its_dsn(
    server_url, project_key, migrated_database_url
) -> None:
    """Without a key in the headers or query, the DSN in the envelope's header is the key
    (gzip-compressed too); a DSN of another project, an unknown key or none is refused."""
    project_id, key = project_key
    event = _event()
    body = gzip.compress(_tunnelled(key, project_id, event))
    response = _post(server_url, project_id, body, {"Content-Encoding": "gzip"})
    assert response.status_code == 200
    assert [row["event_id"].hex for row in stored(migrated_database_url, project_id)] == [
        event["event_id"]
    ]
    other_id, other_key = new_project(migrated_database_url)
    refused = {
        403: _tunnelled(key, other_id, _event()),
        401: _tunnelled("th_nope", project_id, _event()),
    }
    for status, tunnelled in refused.items():
        response = _post(server_url, project_id, tunnelled, {})
        assert response.status_code == status, response.text
    assert "not " + str(project_id) in _post(server_url, project_id, refused[403], {}).text
    wrong_key = _post(server_url, project_id, _tunnelled(other_key, project_id, _event()), {})
    assert wrong_key.status_code == 403
    assert _post(server_url, project_id, _envelope(_event_item(_event())), {}).status_code == 401
    assert _post(server_url, project_id, b"not an envelope", {}).status_code == 400
    assert len(stored(migrated_database_url, project_id)) == 1


def test_legacy_store_bodies_in_base64_are_accepted(
    server_url, project_key, migrated_database_url
) -> None:
    """raven-python's base64 of zlib-compressed JSON (and plain base64 JSON) are events; a
    base64 body that inflates past the limit is 413, one that is not zlib 400."""
    project_id, key = project_key
    raven = {"X-Sentry-Auth": f"Sentry sentry_key={key}, sentry_version=6, sentry_client=raven"}
    raven["Content-Type"] = "application/octet-stream"
    zipped, plain = _event(message="zipped"), _event(message="plain")
    for body in (
        base64.b64encode(zlib.compress(orjson.dumps(zipped))),
        base64.b64encode(orjson.dumps(plain)),
    ):
        assert _post(server_url, project_id, body, raven, kind="store").status_code == 200
    rows = stored(migrated_database_url, project_id)
    assert sorted(row["message"] for row in rows) == ["plain", "zipped"]
    bomb = base64.b64encode(zlib.compress(b"{" + b" " * MAX_DECOMPRESSED_BYTES))
    assert _post(server_url, project_id, bomb, raven, kind="store").status_code == 413
    junk = base64.b64encode(b"\x00\x01 not zlib")
    response = _post(server_url, project_id, junk, raven, kind="store")
    assert response.status_code == 400
    assert "neither JSON nor base64 of zlib data" in response.json()["detail"]


def _browser_error(bundle: str) -> dict[str, Any]:
    frames = [{"filename": bundle, "function": name, "in_app": True, "lineno": 2,
               "colno": col} for name, col in (("onClick", 1450), ("cartTotal", 977))]  # fmt: skip
    value = {"type": "TypeError", "value": "x is undefined", "stacktrace": {"frames": frames}}
    return _event(platform="javascript", exception={"values": [value]}, message=None)


def test_browser_errors_are_v8_traces_and_one_issue_across_deploys(
    server_url, project_key, migrated_database_url
) -> None:
    """A JavaScript event is stored with a V8 trace and its structured frames; the same error
    from another host and bundle hash is the same issue (grouped on its frames)."""
    project_id, key = project_key
    for bundle in (
        "https://shop.example/js/main.3f9a1c2b.js",
        "http://10.0.0.7:8080/js/main.77aa01ce.js",
    ):
        body = _envelope(_event_item(_browser_error(bundle)))
        assert _post(server_url, project_id, body, _auth(key)).status_code == 200
    first, second = stored(migrated_database_url, project_id)
    assert first["stack_trace"].splitlines()[:2] == [
        "TypeError: x is undefined", "    at cartTotal (https://shop.example/js/main.3f9a1c2b.js:2:977)"
    ]  # fmt: skip
    frames = orjson.loads(first["exception"])["values"][0]["stacktrace"]["frames"]
    assert [frame["function"] for frame in frames] == ["onClick", "cartTotal"]
    assert first["issue_id"] is not None
    assert first["issue_id"] == second["issue_id"]
