"""Logs explorer, "load more" fragments, live tail and a log's detail page."""

from __future__ import annotations

from datetime import datetime, timezone

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response, StreamingResponse

from tracehub_server.auth.secret import secret_key
from tracehub_server.dashboard import tail
from tracehub_server.dashboard.context import PageError, ProjectPage, not_found
from tracehub_server.dashboard.explorer import SINCE_CHOICES, parse_explorer_query
from tracehub_server.dashboard.flash import flashes
from tracehub_server.dashboard.histogram import explorer_histogram
from tracehub_server.dashboard.templating import (
    format_time,
    query_string,
    render,
    render_fragment,
)
from tracehub_server.storage import log_queries, saved_searches
from tracehub_server.storage.log_queries import LogEntry, LogPage, QueryTimeoutError
from tracehub_server.storage.scan_budget import DEFAULT_BUDGET, ScanBudget
from tracehub_server.web_deps import PoolDep, SettingsDep
from tracehub_server.web_params import LOG_CURSOR, sign_cursor

router = APIRouter()


def _budget(request: Request) -> ScanBudget:
    """The scan budget of one explorer request (tests install a smaller one on the app)."""
    return getattr(request.app.state, "search_budget", DEFAULT_BUDGET)


def _rows_html(project_id: int, entries: list[LogEntry]) -> str:
    return render_fragment("_log_rows.html", {"entries": entries, "project_id": project_id})


@router.get("/projects/{project_id}/logs")
async def explorer(
    request: Request, page: ProjectPage, pool: PoolDep, settings: SettingsDep
) -> Response:
    """The filter form (state in the URL), results newest first, "load more" by cursor.

    A search that spent its scan budget shows what it found and "Searched back to <time> —
    continue searching", a link to the same cursor mechanism as "load more".
    """
    page.nav = "logs"
    key = secret_key(request)
    query = parse_explorer_query(
        request.query_params.multi_items(),
        retention_days=settings.retention_days,
        cursor_key=key,
    )
    result, error = LogPage(entries=[], next_cursor=None), query.error and str(query.error)
    if query.filter is not None:
        try:
            async with pool.acquire() as conn:
                result = await log_queries.search_logs(
                    conn, [page.project.id], query.filter, budget=_budget(request)
                )
        except QueryTimeoutError as exc:
            error = str(exc)
    base = f"/projects/{page.project.id}/logs"
    filter_pairs = [(k, v) for k, v in query.pairs if k != "cursor"]
    next_cursor = sign_cursor(key, LOG_CURSOR, result.next_cursor)
    next_url = base + query_string(filter_pairs, cursor=next_cursor) if next_cursor else None
    searched = result.searched_back_to
    if request.headers.get("X-Fragment") == "rows":
        headers = {"X-Next-Url": next_url} if next_url else {}
        if searched is not None:
            headers["X-Searched-Back-To"] = format_time(searched)
        return HTMLResponse(_rows_html(page.project.id, result.entries), headers=headers)
    now = datetime.now(timezone.utc)
    histogram = None
    async with pool.acquire() as conn:
        saved = await saved_searches.list_saved_searches(conn, page.project.id)
        if query.filter is not None and not error:
            histogram = await explorer_histogram(
                conn, page.project.id, query.filter, query.pairs, base=base, now=now
            )
    return render(
        request,
        "logs.html",
        {
            "histogram": histogram,
            "flashes": flashes(request),
            "saved": saved,
            "saved_query": query_string(filter_pairs)[1:],
            "query": query,
            "error": error,
            "entries": result.entries,
            "next_url": next_url,
            "searched_back_to": searched,
            "since_choices": SINCE_CHOICES,
            "tail_src": f"{base}/tail" + query_string(filter_pairs, start=now.isoformat()),
            "autostart": request.query_params.get("tail") == "1",
            "paged": query.value("cursor") != "",
            "first_page_url": base + query_string(filter_pairs),
        },
        status_code=422 if query.error else 200,
    )


@router.get("/projects/{project_id}/logs/tail")
async def live_tail(
    request: Request, page: ProjectPage, pool: PoolDep, settings: SettingsDep
) -> Response:
    """Server-Sent Events: rendered rows of new matching entries (see ``dashboard.tail``)."""
    items = [(k, v) for k, v in request.query_params.multi_items() if k != "start"]
    query = parse_explorer_query(items, retention_days=settings.retention_days)
    if query.filter is None:
        raise PageError(422, "Bad filter", str(query.error))
    if not tail.can_open(page.user.id):
        raise PageError(503, "Too many live tails", "Close other live tails and retry.")
    now = datetime.now(timezone.utc)
    start = (
        tail.parse_watermark(request.headers.get("Last-Event-ID"))
        or tail.parse_watermark(request.query_params.get("start"))
        or now
    )
    project_id = page.project.id
    return StreamingResponse(
        tail.stream(
            pool,
            project_id,
            query.filter,
            start=start,
            render_rows=lambda entries: _rows_html(project_id, entries),
            user_id=page.user.id,
        ),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


@router.get("/projects/{project_id}/logs/{event_id}")
async def log_detail(
    request: Request, event_id: str, page: ProjectPage, pool: PoolDep, settings: SettingsDep
) -> HTMLResponse:
    """Every field of one entry, its stack trace, ``extra`` as a tree, trace and issue links."""
    page.nav = "logs"
    async with pool.acquire() as conn:
        entry = await log_queries.get_log(conn, event_id, [page.project.id])
    if entry is None:
        raise not_found()
    base = f"/projects/{page.project.id}/logs"
    trace_url = (
        base + query_string({"trace_id": entry.trace_id, "since": f"{settings.retention_days}d"})
        if entry.trace_id
        else None
    )
    return render(request, "log_detail.html", {"entry": entry, "trace_url": trace_url})
