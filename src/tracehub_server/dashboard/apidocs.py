"""``/docs`` (Swagger UI) and ``/redoc`` (ReDoc), served from this package's own files.

FastAPI's built-in pages load their scripts and fonts from public CDNs, so a server behind a
firewall showed blank pages, and the pages ran third-party code unchecked. Here the assets
are vendored under ``static/vendor/`` (exact npm releases, with their licences) and each page
carries a Content-Security-Policy that allows only this origin. Both viewers style themselves
with inline ``style`` attributes and ReDoc searches in a ``blob:`` worker, hence the two
exceptions; no inline script is allowed.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from tracehub_server.dashboard.templating import environment

router = APIRouter()

#: The vendored releases (npm package and version), shown in ``static/vendor/README.md``.
SWAGGER_UI = "swagger-ui-dist 5.35.0"
REDOC = "redoc 2.5.4"

_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; "
    "worker-src 'self' blob:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; "
    "object-src 'none'"
)
_HEADERS = {
    "Content-Security-Policy": _CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}


def _page(request: Request, template: str) -> HTMLResponse:
    spec = request.app.openapi_url or "/openapi.json"
    html = environment.get_template(template).render(spec_url=spec, title=request.app.title)
    return HTMLResponse(html, headers=_HEADERS)


@router.get("/docs")
async def swagger_ui(request: Request) -> HTMLResponse:
    """The interactive API reference (Swagger UI)."""
    return _page(request, "apidocs_swagger.html")


@router.get("/redoc")
async def redoc(request: Request) -> HTMLResponse:
    """The readable API reference (ReDoc)."""
    return _page(request, "apidocs_redoc.html")
