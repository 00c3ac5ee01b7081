"""The explorer's budgeted search: "Searched back to <time> — continue searching"."""

from __future__ import annotations

import html
import re
from datetime import datetime, timedelta, timezone

import asyncpg
import httpx
from fastapi import FastAPI
from pages_support import Seed, insert_log

from tracehub_server.storage.scan_budget import ScanBudget

Client = tuple[httpx.AsyncClient, str]
_LINK = re.compile(r'id="load-more" href="([^"]+)"')


async def test_partial_search_offers_to_continue_and_finds_older_matches(
    app: FastAPI, as_member: Client, seed: Seed, pool: asyncpg.Pool
) -> None:
    """A search stopped by its budget says how far back it looked; continuing finds more."""
    app.state.search_budget = ScanBudget(time_ms=0, first_slice=timedelta(hours=1))
    client, _ = as_member
    async with pool.acquire() as conn:
        needle = await insert_log(
            conn, seed.project_id, message="quokka sighted",
            timestamp=datetime.now(timezone.utc) - timedelta(hours=3),
        )  # fmt: skip
    page = await client.get(f"/projects/{seed.project_id}/logs?q=quokka&since=6h")
    assert page.status_code == 200
    assert "Searched back to" in page.text
    assert "Continue searching" in page.text
    assert "No matches yet." in page.text
    link = _LINK.search(page.text)
    assert link, "the partial page must offer a link to continue"
    url, found = html.unescape(link.group(1)), ""
    for _ in range(20):
        more = await client.get(url, headers={"X-Fragment": "rows"})
        assert more.status_code == 200
        found += more.text
        if "x-next-url" not in more.headers:
            break
        assert "x-searched-back-to" in more.headers or needle in more.text
        url = more.headers["x-next-url"]
    assert needle in found


async def test_default_budget_pages_say_load_more(as_member: Client, seed: Seed) -> None:
    """An unfiltered page fills up from the index: plain "Load more", no scan notice."""
    client, _ = as_member
    page = await client.get(f"/projects/{seed.project_id}/logs?limit=5")
    assert "Load more" in page.text
    assert "Searched back to" not in page.text
