"""``tracehub server --workers 2``: per-process state that must read as one server."""

from __future__ import annotations

import secrets
from pathlib import Path

import httpx
from e2e_helpers import create_project, free_port, start, stop, wait_healthy
from prometheus_client.parser import text_string_to_metric_families

REQUESTS = 20


def _accepted_requests(base: str) -> float:
    """``tracehub_ingest_requests_total{status="202"}`` as one scrape reports it."""
    text = httpx.get(f"{base}/metrics", timeout=10).text
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "tracehub_ingest_requests_total" and sample.labels == {
                "status": "202"
            }:
                return sample.value
    return 0.0


def test_metrics_sum_every_process(tmp_path: Path, pipeline_env: dict[str, str]) -> None:
    """Whichever process answers the scrape, /metrics counts the requests of all of them."""
    env = {**pipeline_env}
    env.pop("TRACEHUB_AMQP_URL")  # in-process digest: no broker needed for this
    env["TRACEHUB_METRICS_PUBLIC"] = "true"  # /metrics on the API port, off by default
    _, key = create_project(tmp_path, env, f"workers-{secrets.token_hex(4)}")
    port = free_port()
    log = tmp_path / "server.log"
    server = start(["server", "--port", str(port), "--workers", "2"], env, log)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(port, server, log)
        entry = {"level": "INFO", "message": "hello", "service": "s", "environment": "e"}
        for _ in range(REQUESTS):  # a new connection each, so both processes take some
            response = httpx.post(
                f"{base}/api/v1/ingest", json=[entry], headers={"X-API-Key": key}, timeout=30
            )
            assert response.status_code == 202
        for _ in range(6):
            assert _accepted_requests(base) == REQUESTS
    finally:
        stop(server)
