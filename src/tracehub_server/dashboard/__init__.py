"""Server-rendered web dashboard, mounted on the API's port by ``create_app``.

Pages are Jinja2 templates with autoescaping, styled by one stylesheet and enhanced by one
small script, all served from this package (no CDN, no build step). Every route goes through
``context.require_page``: sessions, project access and roles are checked in one place.
"""

from __future__ import annotations

from importlib import resources

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles

from tracehub_server.dashboard.context import LoginRequired, PageError
from tracehub_server.dashboard.templating import render

__all__ = ["mount"]


async def _login_required(request: Request, exc: Exception) -> RedirectResponse:
    from urllib.parse import quote

    if not isinstance(exc, LoginRequired):  # registered for that class alone
        raise exc
    return RedirectResponse("/login?next=" + quote(exc.next_url, safe="/"), status_code=303)


async def _page_error(request: Request, exc: Exception) -> HTMLResponse:
    if not isinstance(exc, PageError):  # registered for that class alone
        raise exc
    context = {"title": exc.title, "message": exc.message}
    return render(request, "error.html", context, status_code=exc.status)


def mount(app: FastAPI) -> None:
    """Attach the dashboard's routes and static files to ``app``."""
    from tracehub_server.dashboard.views import router

    static = resources.files("tracehub_server.dashboard") / "static"
    app.mount("/static", StaticFiles(directory=str(static)), name="dashboard-static")
    app.add_exception_handler(LoginRequired, _login_required)
    app.add_exception_handler(PageError, _page_error)
    app.include_router(router)
