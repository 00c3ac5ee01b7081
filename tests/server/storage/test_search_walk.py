"""``search_logs``' bounded walk and multi-project merge, against the real PostgreSQL."""

from __future__ import annotations

import asyncio
import secrets
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any

import asyncpg
import pytest
from query_api_fixtures import insert_log

from tracehub_server.storage import log_queries
from tracehub_server.storage.log_filters import FilterError, LogFilter
from tracehub_server.storage.projects import create_project
from tracehub_server.storage.scan_budget import ScanBudget
from tracehub_server.web_params import LOG_CURSOR, parse_log_filter, sign_cursor

#: The key cursors are signed with between pages, as the web layer does.
KEY = b"k" * 32
#: One slice of one hour per request: the walk's steps are deterministic.
ONE_HOUR_PER_REQUEST = ScanBudget(time_ms=0, first_slice=timedelta(hours=1))
#: The fixed top of the range, on a whole second, a few minutes in the past.
TOP = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(minutes=5)


def _parse(params: dict[str, str]) -> LogFilter:
    """``parse_log_filter`` as the web layer calls it: storage's cursor signed, then checked."""
    if "cursor" in params:
        params = {**params, "cursor": sign_cursor(KEY, LOG_CURSOR, params["cursor"]) or ""}
    return parse_log_filter(params, cursor_key=KEY)


async def _project(conn: asyncpg.Connection) -> int:
    return (await create_project(conn, f"walk-{secrets.token_hex(4)}")).id


async def _follow(
    conn: asyncpg.Connection, ids: list[int], params: dict[str, str], budget: ScanBudget
) -> list[log_queries.LogPage]:
    """Every page of a search, following next_cursor (at most 200 requests)."""
    pages: list[log_queries.LogPage] = []
    cursor: str | None = None
    for _ in range(200):
        flt = _parse({**params, **({"cursor": cursor} if cursor else {})})
        page = await log_queries.search_logs(conn, ids, flt, budget=budget)
        pages.append(page)
        cursor = page.next_cursor
        if cursor is None:
            return pages
    raise AssertionError("the search did not finish within 200 requests")


@pytest.fixture
async def spread(pool: asyncpg.Pool) -> tuple[int, dict[str, uuid.UUID]]:
    """A project with filler every 20 minutes over 6 hours, and needles at chosen times."""
    async with pool.acquire() as conn:
        pid = await _project(conn)
        for minute in range(0, 360, 20):
            await insert_log(
                conn, pid, message="routine", timestamp=TOP - timedelta(minutes=minute)
            )
        needles = {}
        for name, at in {
            "newest": TOP - timedelta(minutes=30),
            "on_boundary": TOP - timedelta(hours=2),  # the lower edge of the second slice
            "just_above": TOP - timedelta(hours=2) + timedelta(microseconds=1),
            "oldest": TOP - timedelta(hours=5, minutes=10),
        }.items():
            needles[name] = await insert_log(conn, pid, message=f"the needle {name}", timestamp=at)
    return pid, needles


async def test_rare_term_returns_partial_pages_with_a_cursor_until_the_range_is_done(
    pool: asyncpg.Pool, spread: tuple[int, dict[str, uuid.UUID]]
) -> None:
    """Each request searches one slice; a page with no match still continues the search."""
    pid, needles = spread
    params = {
        "q": "needle",
        "until": TOP.isoformat(),
        "since": (TOP - timedelta(hours=6)).isoformat(),
    }
    async with pool.acquire() as conn:
        pages = await _follow(conn, [pid], params, ONE_HOUR_PER_REQUEST)
    assert len(pages) == 6  # one hour each, the last one ends the range
    assert [p.searched_back_to for p in pages[:-1]] == [
        TOP - timedelta(hours=h) for h in range(1, 6)
    ]
    assert pages[-1].searched_back_to is None
    assert pages[-1].next_cursor is None
    assert pages[2].entries == []  # hours 2-3 hold no needle, yet the page has a cursor
    assert pages[2].next_cursor is not None
    found = [e.event_id for p in pages for e in p.entries]
    assert found == [needles["newest"], needles["just_above"], needles["on_boundary"],
                     needles["oldest"]]  # fmt: skip


async def test_full_page_stops_the_walk_with_a_row_cursor(
    pool: asyncpg.Pool, spread: tuple[int, dict[str, uuid.UUID]]
) -> None:
    """Reaching ``limit`` ends the request at that row; the next page resumes after it."""
    pid, needles = spread
    params = {"q": "needle", "until": TOP.isoformat(), "limit": "2", "since": "1d"}
    budget = ScanBudget(time_ms=60_000, first_slice=timedelta(hours=1))
    async with pool.acquire() as conn:
        pages = await _follow(conn, [pid], params, budget)
    assert [len(p.entries) for p in pages] == [2, 2]
    assert pages[0].searched_back_to is None
    assert [e.event_id for e in pages[1].entries] == [needles["on_boundary"], needles["oldest"]]


async def test_a_slice_past_the_budget_is_cancelled_and_resumed_next_time(
    pool: asyncpg.Pool,
    spread: tuple[int, dict[str, uuid.UUID]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A later slice that runs past the rest of the budget is cancelled by PostgreSQL (the
    statement timeout): the page keeps what the earlier slice found, its cursor resumes at
    the cancelled slice's top, and the connection is left clean for the next request.

    The second slice's query is swapped for a real ``pg_sleep`` on the same connection,
    standing in for a cold-cache slice that the planner predicted far too short.
    """
    pid, needles = spread
    fetch_page = log_queries._fetch_page
    calls = 0

    async def second_slice_stalls(conn: asyncpg.Connection, *args: Any, **kw: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls == 2:
            await conn.execute("SELECT pg_sleep(30)")
        return await fetch_page(conn, *args, **kw)

    monkeypatch.setattr(log_queries, "_fetch_page", second_slice_stalls)
    params = {
        "q": "needle",
        "until": TOP.isoformat(),
        "since": (TOP - timedelta(hours=6)).isoformat(),
    }
    budget = ScanBudget(time_ms=200, first_slice=timedelta(hours=1))
    async with pool.acquire() as conn:
        page = await log_queries.search_logs(conn, [pid], parse_log_filter(params), budget=budget)
        assert calls == 2
        assert [e.event_id for e in page.entries] == [needles["newest"]]
        assert page.searched_back_to == TOP - timedelta(hours=1)  # had the sleep run out,
        # the slice would have completed and searched further back
        assert page.next_cursor is not None
        assert await conn.fetchval("SHOW statement_timeout") == "0"
        assert not conn.is_in_transaction()

        monkeypatch.setattr(log_queries, "_fetch_page", fetch_page)
        rest = await _follow(conn, [pid], {**params, "cursor": page.next_cursor}, budget)
    found = [e.event_id for p in rest for e in p.entries]
    assert found == [needles["just_above"], needles["on_boundary"], needles["oldest"]]


async def test_unindexed_filters_are_walked_and_indexed_ones_are_not(
    pool: asyncpg.Pool, spread: tuple[int, dict[str, uuid.UUID]]
) -> None:
    """level/service/module walk the range; trace_id, extra and no filter read it at once."""
    pid, _ = spread
    walked = parse_log_filter({"level": "INFO", "until": TOP.isoformat(), "limit": "1000"})
    direct = parse_log_filter({"extra.k": "v", "until": TOP.isoformat()})
    assert log_queries.needs_bounded_scan(walked)
    assert not log_queries.needs_bounded_scan(direct)
    assert not log_queries.needs_bounded_scan(parse_log_filter({}))
    async with pool.acquire() as conn:
        partial = await log_queries.search_logs(conn, [pid], walked, budget=ONE_HOUR_PER_REQUEST)
        whole = await log_queries.search_logs(
            conn, [pid], parse_log_filter({"until": TOP.isoformat(), "limit": "1000"}),
            budget=ONE_HOUR_PER_REQUEST,
        )  # fmt: skip
    assert partial.next_cursor is not None
    assert partial.searched_back_to is not None
    assert whole.next_cursor is None
    assert len(whole.entries) == 21  # until is exclusive: the entry at TOP is out


async def test_concurrent_walks_return_the_same_pages(
    pool: asyncpg.Pool, spread: tuple[int, dict[str, uuid.UUID]]
) -> None:
    """Walks running side by side on separate connections see the same results."""
    pid, _ = spread
    params = {"q": "needle", "until": TOP.isoformat(), "since": "1d"}

    async def one() -> list[uuid.UUID]:
        async with pool.acquire() as conn:
            pages = await _follow(conn, [pid], params, ONE_HOUR_PER_REQUEST)
        return [e.event_id for p in pages for e in p.entries]

    results = await asyncio.wait_for(asyncio.gather(*(one() for _ in range(4))), timeout=60)
    assert all(r == results[0] for r in results)
    assert len(results[0]) == 4


async def test_hostile_terms_are_literal_in_every_slice(pool: asyncpg.Pool) -> None:
    """LIKE wildcards, quotes and SQL in q match only themselves while walking."""
    async with pool.acquire() as conn:
        pid = await _project(conn)
        hit = await insert_log(conn, pid, message="100% done'; DROP TABLE logs; --")
        await insert_log(conn, pid, message="1000 done")
        flt = parse_log_filter({"q": '"100% done\'; DROP TABLE logs" _', "since": "2h"})
        page = await log_queries.search_logs(conn, [pid], flt, budget=ONE_HOUR_PER_REQUEST)
        pages = [page]
        while pages[-1].next_cursor and len(pages) < 10:
            nxt = _parse({"q": flt.q or "", "since": "2h",
                                    "cursor": pages[-1].next_cursor})  # fmt: skip
            pages.append(
                await log_queries.search_logs(conn, [pid], nxt, budget=ONE_HOUR_PER_REQUEST)
            )
        assert await conn.fetchval("SELECT count(*) FROM logs WHERE project_id = $1", pid) == 2
    assert [e.event_id for p in pages for e in p.entries] == []  # "_" is literal: no match
    flt = parse_log_filter({"q": '"100% done\'; DROP TABLE logs"', "since": "2h"})
    async with pool.acquire() as conn:
        page = await log_queries.search_logs(conn, [pid], flt)
    assert [e.event_id for e in page.entries] == [hit]


async def test_several_projects_are_merged_newest_first_with_a_cursor(pool: asyncpg.Pool) -> None:
    """Without ``project`` a reader of several projects gets one merged, paginated list."""
    async with pool.acquire() as conn:
        a, b = await _project(conn), await _project(conn)
        expected = []
        for i in range(6):
            pid = a if i % 2 else b
            expected.append(
                await insert_log(
                    conn, pid, message=f"m{i}", timestamp=TOP - timedelta(minutes=i + 1)
                )
            )
        seen: list[uuid.UUID] = []
        cursor = None
        for _ in range(5):
            extra = {"cursor": cursor} if cursor else {}
            flt = _parse({"until": TOP.isoformat(), "limit": "4", **extra})
            page = await log_queries.search_logs(conn, [a, b], flt)
            seen += [e.event_id for e in page.entries]
            if (cursor := page.next_cursor) is None:
                break
    assert seen == expected


async def test_too_many_projects_must_be_named() -> None:
    """More than MAX_MERGED_PROJECTS readable projects without ``project`` is refused."""
    flt: LogFilter = parse_log_filter({})
    ids = list(range(1, log_queries.MAX_MERGED_PROJECTS + 2))
    with pytest.raises(FilterError) as err:
        await log_queries.search_logs(None, ids, flt)  # type: ignore[arg-type]
    assert err.value.param == "project"
