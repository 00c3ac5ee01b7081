"""Which values can name a row: the one bigint id check every storage module uses."""

from __future__ import annotations

import pytest

from tracehub_server.storage.ids import MAX_BIGINT, valid_id


@pytest.mark.parametrize("value", [1, 42, MAX_BIGINT])
def test_a_positive_bigint_is_an_id(value: int) -> None:
    """Every positive int up to the bigint maximum can be a primary key."""
    assert valid_id(value)


@pytest.mark.parametrize("value", [0, -1, MAX_BIGINT + 1, 10**30, True, "1", 1.0, None])
def test_anything_else_names_no_row(value: object) -> None:
    """Zero, negatives, ints beyond bigint, bools and non-ints are refused without a query."""
    assert not valid_id(value)
