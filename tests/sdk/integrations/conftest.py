"""Fixtures for the integration tests: a real local receiver and a logger pointed at it."""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tracehub import TraceHubLogger, get_default_logger, set_default_logger
from tracehub.testing import LocalReceiver

#: Seconds any test waits for entries to arrive before failing.
WAIT = 15.0
_SENTINEL = "sentinel-end-of-test"

Entries = list[dict[str, Any]]


@pytest.fixture
def receiver() -> Iterator[LocalReceiver]:
    """A running LocalReceiver on 127.0.0.1, closed after the test."""
    with LocalReceiver() as rx:
        yield rx


@pytest.fixture
def th_logger(receiver: LocalReceiver) -> Iterator[TraceHubLogger]:
    """A TraceHubLogger shipping to ``receiver`` quickly, closed after the test."""
    logger = TraceHubLogger(
        api_key="test-key",
        service="integrations-test",
        environment="test",
        endpoint=receiver.url,
        flush_interval=0.05,
        dlq_path=None,
    )
    try:
        yield logger
    finally:
        logger.close(timeout=5)


@pytest.fixture
def default_logger(th_logger: TraceHubLogger) -> Iterator[TraceHubLogger]:
    """``th_logger`` installed as the process default for the test's duration."""
    previous = get_default_logger()
    set_default_logger(th_logger)
    try:
        yield th_logger
    finally:
        set_default_logger(previous)


@pytest.fixture
def delivered(th_logger: TraceHubLogger, receiver: LocalReceiver) -> Callable[[], Entries]:
    """Return everything ``th_logger`` sent, once all of it has arrived.

    A sentinel is logged last and waited for (bounded), so a test can also prove that
    something was *not* sent without sleeping.
    """

    calls = itertools.count()

    def collect() -> Entries:
        sentinel = f"{_SENTINEL}-{next(calls)}"
        th_logger.info(sentinel)
        th_logger.flush(timeout=WAIT)
        deadline = time.monotonic() + WAIT
        while not any(e["message"] == sentinel for e in receiver.entries):
            assert time.monotonic() < deadline, "sentinel entry never arrived"
            time.sleep(0.01)
        return [e for e in receiver.entries if not e["message"].startswith(_SENTINEL)]

    return collect
