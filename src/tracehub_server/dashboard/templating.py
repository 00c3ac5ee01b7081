"""The Jinja2 environment of the dashboard: autoescaping always on, a few display filters.

Every value shown by a page may come from an attacker (log messages, ``extra``, service and
module names are whatever an SDK sent), so autoescaping is enabled for every template, not
only ``.html`` ones, and no filter here ever returns :class:`~markupsafe.Markup` built from
input without escaping it first.
"""

from __future__ import annotations

from datetime import datetime, timezone
from importlib import resources
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from tracehub.entry import ERROR_LEVELS, LEVELS
from tracehub_server.dashboard import charts, tree

ISSUE_STATUSES = ("OPEN", "IN_PROGRESS", "RESOLVED", "IGNORED")


def _template_dir() -> str:
    return str(resources.files("tracehub_server.dashboard") / "templates")


def format_time(value: datetime | None) -> str:
    """A timestamp as UTC ``YYYY-MM-DD HH:MM:SS`` (the dashboard shows UTC everywhere)."""
    if value is None:
        return "—"
    if value.tzinfo is not None:
        value = value.astimezone(timezone.utc)
    return value.strftime("%Y-%m-%d %H:%M:%S")


def format_iso(value: datetime | None) -> str:
    """The ``datetime`` attribute of a ``<time>`` element."""
    if value is None:
        return ""
    if value.tzinfo is not None:
        value = value.astimezone(timezone.utc)
    return value.isoformat()


def relative_time(value: datetime | None, now: datetime | None = None) -> str:
    """ "3 min ago"-style text, coarse on purpose: the exact time is in the tooltip."""
    if value is None:
        return "never"
    now = now or datetime.now(timezone.utc)
    seconds = int((now - value).total_seconds())
    if seconds < 0:
        return "in the future"
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds // size} {unit} ago"
    return "just now"


def format_count(value: int | None) -> str:
    """Thousands separated by a thin space, readable in a narrow column."""
    return f"{value or 0:,}".replace(",", "\u202f")


def level_class(level: str | None) -> str:
    """A CSS class for a level; unknown levels share one neutral class (never input text)."""
    return f"lv-{level.lower()}" if level in LEVELS else "lv-other"


def status_label(status: str) -> str:
    return status.replace("_", " ").title()


def query_string(params: dict[str, Any] | list[tuple[str, str]], **changes: Any) -> str:
    """``?a=1&b=2`` from a mapping or pairs, with ``changes`` applied (None drops a key)."""
    pairs = list(params.items()) if isinstance(params, dict) else list(params)
    drop = set(changes)
    out = [(k, v) for k, v in pairs if k not in drop and v not in (None, "")]
    for key, value in changes.items():
        if value is None:
            continue
        if isinstance(value, list | tuple):
            out.extend((key, str(v)) for v in value)
        else:
            out.append((key, str(value)))
    return "?" + urlencode(out) if out else "?"


def signup_enabled(request: Request) -> bool:
    """Whether the login page offers sign-up (``Settings.signup``)."""
    settings = getattr(request.app.state, "settings", None)
    return bool(getattr(settings, "signup", False))


def build_environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(_template_dir()),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        time=format_time,
        iso=format_iso,
        ago=relative_time,
        count=format_count,
        level_class=level_class,
        status_label=status_label,
        extra_tree=tree.render_tree,
    )
    env.globals.update(
        LEVELS=LEVELS,
        ERROR_LEVELS=ERROR_LEVELS,
        ISSUE_STATUSES=ISSUE_STATUSES,
        query_string=query_string,
        signup_enabled=signup_enabled,
        volume_chart=charts.volume_chart,
        sparkline=charts.sparkline,
    )
    return env


environment = build_environment()


def render(
    request: Request, template: str, context: dict[str, Any], *, status_code: int = 200
) -> HTMLResponse:
    """Render a page; ``request.state.page`` (user, csrf, projects) is always available."""
    page = getattr(request.state, "page", None)
    html = environment.get_template(template).render(request=request, page=page, **context)
    return HTMLResponse(html, status_code=status_code, headers=_SECURITY_HEADERS)


# The dashboard loads nothing from elsewhere and runs no inline script: this policy makes an
# injected <script> or inline handler inert even if an escaping bug ever let one through.
_SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; "
        "object-src 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}


def render_fragment(template: str, context: dict[str, Any]) -> str:
    """A template rendered to a string (rows appended by "load more" and live tail)."""
    return environment.get_template(template).render(**context)
