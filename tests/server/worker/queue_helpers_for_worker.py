"""Simulated broker outage for worker tests."""

from __future__ import annotations

import subprocess


def close_connections(amqp_url: str) -> None:
    """Make the broker drop every connection of the test run's vhost."""
    vhost = amqp_url.rsplit("/", 1)[1]
    subprocess.run(
        ["rabbitmqctl", "-q", "close_all_connections", "-p", vhost, "test: simulated outage"],
        check=True,
        capture_output=True,
        timeout=60,
    )
