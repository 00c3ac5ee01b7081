"""Where clients reach this server, as the settings page shows it: base URL and Sentry DSN.

A Sentry SDK derives its endpoints from the DSN ``http://<key>@<host>/<project_id>``:
``/api/<project_id>/envelope/`` (see :mod:`tracehub_server.api.sentry.auth`), with the key
(the project's API key) as ``sentry_key``.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from fastapi import Request

#: Stands for the key in the DSN shown when no key was just created (keys are shown once).
KEY_PLACEHOLDER = "<API key>"


def public_base(request: Request) -> str:
    """``public_url`` when set (behind a proxy the request's URL is the internal one), else
    the URL this request came in on."""
    configured = getattr(request.app.state.settings, "public_url", None)
    return configured or str(request.base_url).rstrip("/")


def sentry_dsn(base: str, project_id: int, key: str = KEY_PLACEHOLDER) -> str:
    """The DSN of a project: the base URL with the key as its user and the id as its path."""
    parts = urlsplit(base)
    path = parts.path.rstrip("/")
    return f"{parts.scheme}://{key}@{parts.netloc}{path}/{project_id}"
