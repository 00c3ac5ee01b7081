"""The shared fixtures give each run a private database and vhost."""

import asyncio

import aio_pika
import asyncpg


def test_database_url_is_a_private_database(database_url: str) -> None:
    """The run's database exists, is reachable and is not a shared one."""

    async def current_database() -> str:
        conn = await asyncpg.connect(database_url)
        try:
            return await conn.fetchval("SELECT current_database()")
        finally:
            await conn.close()

    assert asyncio.run(current_database()).startswith("th_test_")


def test_amqp_url_is_a_private_vhost(amqp_url: str) -> None:
    """The run's vhost accepts a connection and a durable queue declaration."""

    async def declare() -> int:
        conn = await aio_pika.connect(amqp_url)
        async with conn:
            channel = await conn.channel()
            queue = await channel.declare_queue("smoke", durable=True)
            return queue.declaration_result.message_count

    assert asyncio.run(declare()) == 0
