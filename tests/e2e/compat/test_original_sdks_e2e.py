"""The original SDKs' requests against real servers: stored whole, grouped, never twice.

Bodies are built exactly as ``tracehub-logger`` 1.2.0, the Java and the C++ SDK build them
(``tests/original_sdks.py``), and sent over a raw socket (``Expect:
100-continue`` included, no ``User-Agent``) and through an HTTP client, gzip and plain, to
the embedded server (in-process queue) and to the RabbitMQ pipeline (API + worker).
"""

from __future__ import annotations

import asyncio
import gzip
import json
import secrets
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from e2e_helpers import create_project, env_for, free_port, start, stop, wait_healthy, wait_until

from original_sdks import SDKS, original_timestamp, python_entries, request
from tracehub import TraceHubLogger

pytestmark = pytest.mark.slow


def raw_post(port: int, headers: dict[str, str], body: bytes) -> tuple[int, Any]:
    """POST ``body`` to the ingest path over a bare socket, as a C++ client using libcurl
    does: with ``Expect: 100-continue`` the body follows only the server's 100."""
    head = [
        "POST /api/v1/ingest HTTP/1.1",
        f"Host: 127.0.0.1:{port}",
        f"Content-Length: {len(body)}",
        "Connection: close",
    ]
    head += [f"{name}: {value}" for name, value in headers.items()]
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode("latin-1"))
        data = b""
        if headers.get("Expect") == "100-continue":
            while b"\r\n\r\n" not in data:
                chunk = sock.recv(65536)
                assert chunk, "connection closed before 100 Continue"
                data += chunk
            interim, _, data = data.partition(b"\r\n\r\n")
            assert interim.startswith(b"HTTP/1.1 100"), interim
        sock.sendall(body)
        while chunk := sock.recv(65536):
            data += chunk
    head_bytes, _, payload = data.partition(b"\r\n\r\n")
    status = int(head_bytes.split(b" ", 2)[1])
    return status, json.loads(payload)


def client_post(port: int, headers: dict[str, str], body: bytes) -> tuple[int, Any]:
    """POST through httpx with its ``User-Agent`` removed."""
    with httpx.Client(timeout=30) as client:
        client.headers.pop("User-Agent", None)
        response = client.post(
            f"http://127.0.0.1:{port}/api/v1/ingest", content=body, headers=headers
        )
    return response.status_code, response.json()


def _rows(dsn: str, sql: str, *args: Any) -> list[asyncpg.Record]:
    async def run() -> list[asyncpg.Record]:
        conn = await asyncpg.connect(dsn)
        try:
            return await conn.fetch(sql, *args)
        finally:
            await conn.close()

    return asyncio.run(run())


@pytest.fixture(params=["embedded", "rabbitmq"])
def server(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    migrated_database_url: str,
    amqp_url: str,
) -> Iterator[tuple[int, str, int]]:
    """A running server, in-process queue or RabbitMQ + worker: (port, API key, project id)."""
    settings = {"TRACEHUB_DATABASE_URL": migrated_database_url}
    if request.param == "rabbitmq":
        settings["TRACEHUB_AMQP_URL"] = amqp_url
        settings["TRACEHUB_QUEUE_NAME"] = f"compat_{secrets.token_hex(6)}"
        settings["TRACEHUB_WORKER_BATCH_SECONDS"] = "0.02"
    env = env_for(tmp_path, **settings)
    project_id, key = create_project(tmp_path, env, f"compat-{secrets.token_hex(4)}")
    port = free_port()
    processes = [start(["server", "--port", str(port)], env, tmp_path / "server.log")]
    if request.param == "rabbitmq":
        processes.append(start(["worker"], env, tmp_path / "worker.log"))
    try:
        wait_healthy(port, processes[0], tmp_path / "server.log")
        yield port, key, project_id
    finally:
        for process in processes:
            stop(process)


def test_original_sdk_requests_are_stored_whole_once_and_grouped(
    server: tuple[int, str, int], migrated_database_url: str
) -> None:
    """Each SDK's body, by socket and by client, gzip and plain, is stored with its text,
    thread name and timestamp as sent; resends add nothing; errors become issues."""
    port, key, project_id = server
    expected: dict[str, tuple[str, str]] = {}
    resends = []
    for sdk in SDKS:
        for send, gzip_body in ((raw_post, None), (client_post, False), (client_post, True)):
            stamp = original_timestamp(minutes_ago=len(expected) + 1)
            body, headers, entries = request(sdk, key, stamp, gzip_body=gzip_body)
            status, answer = send(port, headers, body)
            assert (status, answer) == (202, {"accepted": len(entries), "rejected": []})
            for entry in entries:
                expected[f"{entry['message']}@{stamp}"] = (entry["thread_id"], stamp)
            resends.append((send, headers, body, len(entries)))
    for send, headers, body, count in resends:  # a retry after a lost response
        if headers.get("Content-Encoding") == "gzip":  # compressed anew, as 1.2.0's replay does
            body = gzip.compress(gzip.decompress(body), compresslevel=1)
        assert send(port, headers, body) == (202, {"accepted": count, "rejected": []})
    marker = original_timestamp(minutes_ago=0)
    body, headers, _ = request("cpp", key, marker)
    assert raw_post(port, headers, body)[0] == 202

    def stored() -> list[asyncpg.Record]:
        rows = _rows(
            migrated_database_url,
            "SELECT message, thread_id, timestamp, level, issue_id FROM logs WHERE project_id = $1",
            project_id,
        )
        return rows if any(r["timestamp"].isoformat(timespec="milliseconds") == marker
                           for r in rows) else []  # fmt: skip

    rows = wait_until(stored, timeout=60, what="the marker batch to be stored")
    got = {
        f"{r['message']}@{r['timestamp'].isoformat(timespec='milliseconds')}": (
            r["thread_id"],
            r["timestamp"].isoformat(timespec="milliseconds"),
        )
        for r in rows
        if r["timestamp"].isoformat(timespec="milliseconds") != marker
    }
    assert got == expected
    assert len(rows) == len(expected) + len(request("cpp", key, marker)[2])
    errors = [r for r in rows if r["level"] in ("ERROR", "FATAL")]
    assert errors
    assert all(r["issue_id"] is not None for r in errors)
    issues = _rows(
        migrated_database_url,
        "SELECT title, event_count FROM issues WHERE project_id = $1",
        project_id,
    )
    assert sum(i["event_count"] for i in issues) == len(errors)


@pytest.mark.parametrize("send", [raw_post, client_post], ids=["socket", "client"])
def test_a_batch_with_every_entry_rejected_is_a_4xx(
    server: tuple[int, str, int], send: Any
) -> None:
    """No entry storable: 422 with the per-entry reasons, so a status-only client notices."""
    port, key, _ = server
    body = json.dumps([{"level": "INFO"}, {"level": "LOUD", "message": "x"}]).encode()
    headers = {"X-API-Key": key, "Content-Type": "application/json"}
    if send is raw_post:
        headers["Expect"] = "100-continue"
    else:
        headers["Content-Encoding"] = "gzip"
        body = gzip.compress(body)
    status, answer = send(port, headers, body)
    assert status == 422
    assert answer["accepted"] == 0
    assert [r["index"] for r in answer["rejected"]] == [0, 1]


def test_dead_letter_files_of_tracehub_logger_1_2_0_are_replayed_and_stored(
    server: tuple[int, str, int], migrated_database_url: str, tmp_path: Path
) -> None:
    """A process that finds 1.2.0's ``failed_<time>.jsonl`` files (one ``json.dumps`` of
    ``to_dict()`` per line) in its dead-letter directory delivers them with its own."""
    port, key, project_id = server
    dlq = tmp_path / "dlq"
    dlq.mkdir()
    stamp = original_timestamp(minutes_ago=3)
    left = python_entries(stamp)
    (dlq / "failed_2026-04-06T00-30-00.jsonl").write_text(
        "".join(json.dumps(entry) + "\n" for entry in left), encoding="utf-8"
    )
    logger = TraceHubLogger(key, "billing-py", "production", f"http://127.0.0.1:{port}",
                            dlq_path=str(dlq), flush_interval=0.1)  # fmt: skip
    logger.info("started after an upgrade")
    assert logger.flush(30)
    wait_until(lambda: logger.stats().replayed == len(left), timeout=30, what="the replay")
    logger.close()
    assert not list(dlq.glob("*.jsonl"))

    def stored() -> set[str]:
        rows = _rows(
            migrated_database_url, "SELECT message FROM logs WHERE project_id = $1", project_id
        )
        return {r["message"] for r in rows} if len(rows) == len(left) + 1 else set()

    messages = wait_until(stored, timeout=60, what="the replayed entries to be stored")
    assert messages == {e["message"] for e in left} | {"started after an upgrade"}
