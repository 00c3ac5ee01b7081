"""Fixtures for the SDK tests: a real receiver on 127.0.0.1 and quick, tidy loggers."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tracehub import TraceHubLogger, _diagnostics, set_default_logger
from tracehub.testing import LocalReceiver


@pytest.fixture(autouse=True)
def _fresh_diagnostics() -> Iterator[None]:
    """Each test starts with no rate-limit history and no default logger."""
    _diagnostics.reset()
    yield
    set_default_logger(None)


@pytest.fixture
def rx() -> Iterator[LocalReceiver]:
    """A running LocalReceiver, closed after the test."""
    with LocalReceiver() as receiver:
        yield receiver


@pytest.fixture
def dead_url() -> str:
    """An http URL on 127.0.0.1 where nothing listens (connection refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@pytest.fixture
def dlq_dir(tmp_path: Path) -> Path:
    """A private dead-letter directory."""
    return tmp_path / "dlq"


@pytest.fixture
def make_logger(rx: LocalReceiver, dlq_dir: Path) -> Iterator[Callable[..., TraceHubLogger]]:
    """Build loggers with short intervals and backoffs; all are closed after the test."""
    made: list[TraceHubLogger] = []

    def make(**overrides: Any) -> TraceHubLogger:
        options: dict[str, Any] = {
            "api_key": "test-key",
            "service": "sdk-test",
            "environment": "test",
            "endpoint": rx.url,
            "flush_interval": 0.05,
            "timeout": 5.0,
            "retry_backoff": 0.01,
            "max_backoff": 0.05,
            "close_timeout": 5.0,
            "dlq_path": dlq_dir,
        }
        options.update(overrides)
        logger = TraceHubLogger(**options)
        made.append(logger)
        return logger

    yield make
    for logger in made:
        logger.close(timeout=2)
