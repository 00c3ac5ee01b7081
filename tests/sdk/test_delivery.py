"""Cutting encoded entries into request-sized chunks."""

from __future__ import annotations

from tracehub.delivery import split_by_budget
from tracehub.limits import MAX_ENTRIES_PER_BATCH


def test_split_by_budget_respects_bytes_and_count() -> None:
    """Chunks stay under the byte budget and MAX_ENTRIES_PER_BATCH, order kept."""
    entries = [b"x" * 100] * 50
    chunks = list(split_by_budget(entries, budget=1_000))
    assert all(2 + sum(len(e) + 1 for e in chunk) <= 1_000 for chunk in chunks)
    assert sum(len(c) for c in chunks) == 50
    small = list(split_by_budget([b"{}"] * (MAX_ENTRIES_PER_BATCH + 1)))
    assert [len(c) for c in small] == [MAX_ENTRIES_PER_BATCH, 1]
