"""Alert test fixtures: a webhook receiver per test; the query API's app and world of roles."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from alerts_support import Receiver, webhook_receiver
from query_api_fixtures import client, world

__all__ = ["client", "receiver", "world"]


@pytest.fixture
def migrated_database_url(isolated_migrated_database_url: str) -> str:
    """The alert tests' own database: the planner they drive is global to its database."""
    return isolated_migrated_database_url


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A webhook receiver that accepts everything (tests may script failures first)."""
    with webhook_receiver() as state:
        yield state
