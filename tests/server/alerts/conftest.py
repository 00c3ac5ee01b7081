"""Alert test fixtures: a webhook receiver per test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from alerts_support import Receiver, webhook_receiver


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A webhook receiver that accepts everything (tests may script failures first)."""
    with webhook_receiver() as state:
        yield state
