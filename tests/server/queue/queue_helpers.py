"""Helpers for queue tests: a private topology, a simulated broker outage."""

from __future__ import annotations

import secrets
import subprocess

import pytest

from tracehub_server.queue.rabbitmq import Topology


@pytest.fixture
def topology() -> Topology:
    """A classic-queue topology with a name no other test uses."""
    return Topology(queue_name=f"q_{secrets.token_hex(6)}", max_delivery_attempts=3)


def close_connections(amqp_url: str) -> None:
    """Make the broker drop every connection of the test run's vhost."""
    vhost = amqp_url.rsplit("/", 1)[1]
    subprocess.run(
        ["rabbitmqctl", "-q", "close_all_connections", "-p", vhost, "test: simulated outage"],
        check=True,
        capture_output=True,
        timeout=60,
    )
