"""Live tail: a Server-Sent Events stream of new log entries matching the explorer's filter.

Each poll reads, through ``storage.log_queries.search_logs``, the newest matching entries of a
short trailing window of event time and sends those received after the stream's start that
were not sent before. The window and the set of sent ids let an entry that is committed a
little late, or carries a slightly older timestamp, still appear; an entry timestamped more
than :data:`WINDOW` in the past is not tailed (it still shows in the explorer).

A stream lasts at most :data:`STREAM_SECONDS`; the browser's EventSource reconnects by
itself and sends ``Last-Event-ID`` (a little before the newest entry sent), so nothing is
lost across reconnects (the page drops rows it already shows) and server shutdown never
waits long for open streams. A connection from the
pool is held only during a poll.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator, Callable
from datetime import datetime, timedelta, timezone

import asyncpg
import orjson

from tracehub_server.storage import log_queries
from tracehub_server.storage.log_filters import LogFilter
from tracehub_server.storage.log_queries import LogEntry

POLL_SECONDS = 1.0
STREAM_SECONDS = 30.0
WINDOW = timedelta(minutes=2)
#: Entries read per poll; a faster stream than this is sampled (the newest are shown).
BATCH = 100
#: Open streams per process; more get 503 so tails cannot exhaust the server.
MAX_STREAMS = 50
#: Open streams per user and process, so one viewer (many tabs, a script) cannot take every
#: slot of :data:`MAX_STREAMS` from the others.
MAX_STREAMS_PER_USER = 5
RETRY_MS = 1500
RESUME_OVERLAP = timedelta(seconds=5)

_open_streams = 0
_open_by_user: dict[int, int] = {}


def can_open(user_id: int | None = None) -> bool:
    """True when the process, and the user, may open one more stream."""
    if user_id is not None and _open_by_user.get(user_id, 0) >= MAX_STREAMS_PER_USER:
        return False
    return _open_streams < MAX_STREAMS


def parse_watermark(text: str | None) -> datetime | None:
    """The ``Last-Event-ID`` a browser sends back: an ISO time within the last hour."""
    if not text or len(text) > 40:
        return None
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        return None
    if when.tzinfo is None:
        return None
    now = datetime.now(timezone.utc)
    return when if now - timedelta(hours=1) <= when <= now else None


def _event(name: str, data: dict[str, object], event_id: str) -> bytes:
    return f"event: {name}\nid: {event_id}\ndata: ".encode() + orjson.dumps(data) + b"\n\n"


async def stream(
    pool: asyncpg.Pool,
    project_id: int,
    flt: LogFilter,
    *,
    start: datetime,
    render_rows: Callable[[list[LogEntry]], str],
    user_id: int | None = None,
) -> AsyncIterator[bytes]:
    """Yield SSE messages (``rows`` events with rendered HTML) for entries after ``start``.

    The stream counts against the process's and ``user_id``'s limits from its first message
    until it ends (:func:`can_open`).
    """
    global _open_streams
    _open_streams += 1
    if user_id is not None:
        _open_by_user[user_id] = _open_by_user.get(user_id, 0) + 1
    try:
        sent: dict[object, datetime] = {}
        watermark = start
        yield f"retry: {RETRY_MS}\nid: {watermark.isoformat()}\n: tail open\n\n".encode()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + STREAM_SECONDS
        while loop.time() < deadline:
            now = datetime.now(timezone.utc)
            window = dataclasses.replace(
                flt, since=max(flt.since, now - WINDOW), until=None, cursor=None, limit=BATCH
            )
            async with pool.acquire() as conn:
                page = await log_queries.search_logs(conn, [project_id], window)
            fresh = [e for e in page.entries if e.received_at >= start and e.event_id not in sent]
            for entry in fresh:
                sent[entry.event_id] = entry.timestamp
            cutoff = now - WINDOW - timedelta(minutes=1)
            sent = {k: v for k, v in sent.items() if v >= cutoff}
            if fresh:
                watermark = max([watermark, *(e.received_at for e in fresh)])
                # Resuming a little before the newest sent entry re-covers late commits;
                # the page skips rows it already shows.
                resume = max(start, watermark - RESUME_OVERLAP)
                yield _event(
                    "rows", {"html": render_rows(fresh), "count": len(fresh)}, resume.isoformat()
                )
            else:
                yield b": keep-alive\n\n"
            await asyncio.sleep(POLL_SECONDS)
    finally:
        _open_streams -= 1
        if user_id is not None:
            left = _open_by_user.pop(user_id, 1) - 1
            if left:
                _open_by_user[user_id] = left
