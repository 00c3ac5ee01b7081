"""Large ingest bodies parsed in the child process answer exactly as inline ones do."""

from __future__ import annotations

import pickle

import orjson
import pytest
from ingest_helpers import entry

from tracehub_server.api.body import BodyError
from tracehub_server.api.offload import OFFLOAD_BYTES


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
