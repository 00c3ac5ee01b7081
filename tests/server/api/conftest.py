"""Fixtures for ingest API tests: a real app (lifespan run) on the run's database and vhost."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Callable
from typing import Any

import aio_pika
import asyncpg
import httpx
import pytest
from ingest_helpers import open_client

from tracehub_server.queue.messages import IngestBatch, decode, entry_dict
from tracehub_server.settings import Settings
from tracehub_server.storage.projects import Project, create_api_key


@pytest.fixture
def queue_name() -> str:
    """A queue name no other test uses."""
    return f"ingest_{secrets.token_hex(6)}"


@pytest.fixture
def make_settings(
    migrated_database_url: str, amqp_url: str, queue_name: str
) -> Callable[..., Settings]:
    """Settings for the full pipeline on this run's database, vhost and a private queue."""

    def make(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "database_url": migrated_database_url,
            "amqp_url": amqp_url,
            "queue_name": queue_name,
            "api_key_cache_seconds": 0,
        }
        values.update(overrides)
        return Settings(**values)

    return make


@pytest.fixture
async def client(make_settings: Callable[..., Settings]) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client on an app publishing to RabbitMQ (key cache off)."""
    async for value in open_client(make_settings()):
        yield value


@pytest.fixture
async def api_key(pool: asyncpg.Pool, project: Project) -> str:
    """A fresh API key of the test's project."""
    async with pool.acquire() as conn:
        _, key = await create_api_key(conn, project.id)
    return key


@pytest.fixture
def drain(amqp_url: str, queue_name: str) -> Callable[[], Any]:
    """Take every message from the test's queue (acked): the batches they hold, with each
    entry as a dict (version-3 messages carry value arrays)."""

    async def take() -> list[IngestBatch]:
        connection = await aio_pika.connect(amqp_url)
        found = []
        async with connection:
            channel = await connection.channel()
            queue = await channel.get_queue(queue_name)
            while (message := await queue.get(no_ack=True, fail=False)) is not None:
                found.extend(
                    IngestBatch(b.project_id, [entry_dict(e) for e in b.entries])
                    for b in decode(message.body)
                )
        return found

    return take


@pytest.fixture
def unused_port() -> int:
    """A 127.0.0.1 port with nothing listening (bound then released)."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
