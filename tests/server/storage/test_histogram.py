"""The explorer's histogram: from the rollup when it can, from ``logs`` for other filters."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import asyncpg
from query_api_fixtures import World, world  # noqa: F401 (fixture)

from tracehub_server.storage.histogram import from_rollup, level_histogram
from tracehub_server.web_params import parse_log_filter

NOW = datetime.now(timezone.utc)


def _filter(**params: str):
    return parse_log_filter(list(params.items()), retention_days=30)


def test_rollup_answers_whole_hours_on_its_own_columns_only() -> None:
    """Hour-sized buckets with level/service/environment filters use the rollup; others not."""
    assert from_rollup(_filter(since="7d", level="ERROR", service="api"), timedelta(hours=3))
    assert not from_rollup(_filter(since="1h"), timedelta(minutes=1))
    assert not from_rollup(_filter(since="7d", q="timeout"), timedelta(hours=3))
    assert not from_rollup(_filter(since="7d", **{"extra.user_id": "usr_42"}), timedelta(hours=3))


async def test_counts_by_level_from_either_source(pool: asyncpg.Pool, world: World) -> None:  # noqa: F811
    """The rollup gives its hourly counts by level; a text search counts matching rows."""
    async with pool.acquire() as conn:
        rolled = await level_histogram(
            conn, world.a, _filter(since="24h"), until=NOW, size=timedelta(hours=1)
        )
        searched = await level_histogram(
            conn, world.a, _filter(since="24h", q="payment"), until=NOW, size=timedelta(hours=1)
        )
    assert rolled is not None
    assert sum(counts.get("INFO", 0) for _s, counts in rolled) == 100
    assert sum(counts.get("ERROR", 0) for _s, counts in rolled) == 7
    assert searched is not None
    assert [counts for _s, counts in searched] == [{"ERROR": 1}]
