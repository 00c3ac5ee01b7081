"""Alert test fixtures: a webhook receiver per test; the query API's app and world of roles."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from alerts_support import Receiver, webhook_receiver

# The API fixtures sit beside the query API tests; test dirs are not packages.
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "dashboard" / "api"))

from query_api_fixtures import client, world

__all__ = ["client", "receiver", "world"]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A webhook receiver that accepts everything (tests may script failures first)."""
    with webhook_receiver() as state:
        yield state
