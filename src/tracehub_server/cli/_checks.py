"""Start-up checks that turn a bad URL or an unreachable service into one clear sentence."""

from __future__ import annotations

import asyncio
import logging
from urllib.parse import urlsplit

import asyncpg

from tracehub_server.settings import ConfigError

#: Seconds a start-up connection attempt may take.
CHECK_TIMEOUT = 10.0


def describe(url: str) -> str:
    """``user@host:port/db`` of a URL, without its password (safe to print)."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or "localhost"
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "<unparseable URL>"
    user = f"{parts.username}@" if parts.username else ""
    if "host=" in parts.query and not parts.hostname:
        host = "unix socket"
    return f"{user}{host}{port}{parts.path}"


async def check_database(url: str) -> None:
    """Connect once; raise :class:`ConfigError` saying what is wrong."""
    where = describe(url)
    try:
        conn = await asyncpg.connect(url, timeout=CHECK_TIMEOUT)
    except (asyncpg.InvalidPasswordError, asyncpg.InvalidAuthorizationSpecificationError):
        raise ConfigError(
            f"PostgreSQL at {where} rejected the credentials: check the user and password "
            "in TRACEHUB_DATABASE_URL"
        ) from None
    except asyncpg.InvalidCatalogNameError:
        raise ConfigError(
            f"PostgreSQL database {where} does not exist: create it or fix TRACEHUB_DATABASE_URL"
        ) from None
    except (asyncio.TimeoutError, TimeoutError):
        raise ConfigError(
            f"timed out connecting to PostgreSQL at {where}: check TRACEHUB_DATABASE_URL"
        ) from None
    except OSError as exc:
        raise ConfigError(
            f"cannot reach PostgreSQL at {where} ({exc.strerror or exc}): is it running? "
            "check TRACEHUB_DATABASE_URL"
        ) from None
    except (ValueError, asyncpg.ClientConfigurationError) as exc:
        raise ConfigError(f"TRACEHUB_DATABASE_URL is not a valid PostgreSQL URL: {exc}") from None
    except asyncpg.PostgresError as exc:
        raise ConfigError(f"PostgreSQL at {where} refused the connection: {exc}") from None
    await conn.close()


async def check_broker(url: str, *, queue_name: str, queue_type: str, attempts: int) -> None:
    """Connect and declare the queues once; raise :class:`ConfigError` saying what is wrong."""
    import aio_pika
    from aiormq.exceptions import ChannelPreconditionFailed

    from tracehub_server.queue.rabbitmq import Topology, declare_topology

    where = describe(url)
    # aiormq logs its own failed connect at ERROR; the one line below replaces it.
    noisy = logging.getLogger("aiormq.connection")
    previous = noisy.level
    noisy.setLevel(logging.CRITICAL)
    try:
        connection = await aio_pika.connect(url, timeout=CHECK_TIMEOUT)
    except aio_pika.exceptions.ProbableAuthenticationError:
        raise ConfigError(
            f"RabbitMQ at {where} rejected the credentials (or the vhost does not exist): "
            "check TRACEHUB_AMQP_URL"
        ) from None
    except (asyncio.TimeoutError, TimeoutError):
        raise ConfigError(f"timed out connecting to RabbitMQ at {where}") from None
    except (OSError, ConnectionError) as exc:
        raise ConfigError(
            f"cannot reach RabbitMQ at {where} ({exc}): is it running? check TRACEHUB_AMQP_URL"
        ) from None
    except Exception as exc:  # aiormq has many exception types; all mean "not usable"
        raise ConfigError(f"cannot use RabbitMQ at {where}: {type(exc).__name__}: {exc}") from None
    finally:
        noisy.setLevel(previous)
    async with connection:
        channel = await connection.channel()
        try:
            await declare_topology(channel, Topology(queue_name, queue_type, attempts))
        except ChannelPreconditionFailed as exc:
            raise ConfigError(
                f"queue {queue_name!r} already exists with other arguments ({exc}): "
                "TRACEHUB_QUEUE_TYPE and TRACEHUB_MAX_DELIVERY_ATTEMPTS must match it"
            ) from None
