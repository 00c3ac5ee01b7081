"""Where a Sentry SDK puts its key and project: ``X-Sentry-Auth``, the query, the path.

An SDK derives everything from the DSN ``http://<key>@<host>/<project_id>``: it posts to
``/api/<project_id>/envelope/`` (or ``/store/``) with ``X-Sentry-Auth: Sentry
sentry_key=<key>, sentry_version=7, ...``; browsers, which cannot always set headers, put
``sentry_key`` in the query string instead. Behind a *tunnel* (the browser SDK's ``tunnel``
option: the page posts to its own server, which forwards the body) neither is there, and the
key is the DSN the SDK wrote into the envelope's header. The key is the project's TraceHub
API key.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

#: Endpoints an SDK derives from a DSN, by the path's last segment.
ENDPOINTS = frozenset({"envelope", "store"})
#: Digits of a project id in a path; longer ones cannot be a bigint id.
_MAX_ID_DIGITS = 18


def match_path(path: str) -> tuple[int, str] | None:
    """``(project_id, endpoint)`` for ``/api/<id>/envelope/`` or ``/api/<id>/store/``."""
    parts = path.strip("/").split("/")
    if len(parts) != 3 or parts[0] != "api" or parts[2] not in ENDPOINTS:
        return None
    digits = parts[1]
    if not (digits.isascii() and digits.isdigit()) or len(digits) > _MAX_ID_DIGITS:
        return None
    return int(digits), parts[2]


def sentry_key(auth_header: str | None, query_string: bytes) -> str | None:
    """The ``sentry_key`` of the ``X-Sentry-Auth`` header, else of the query string."""
    if auth_header:
        text = auth_header.strip()
        if text[:7].lower() == "sentry ":
            text = text[7:]
        for pair in text.split(","):
            name, _, value = pair.strip().partition("=")
            if name.strip() == "sentry_key" and value.strip():
                return value.strip()
    if query_string:
        for name, value in parse_qsl(query_string.decode("latin-1")):
            if name == "sentry_key" and value:
                return value
    return None


def dsn_parts(dsn: object) -> tuple[str, int] | None:
    """``(key, project_id)`` of a DSN ``http://<key>@<host>/<project_id>``, else None."""
    if type(dsn) is not str:
        return None
    try:
        parts = urlsplit(dsn)
        key = parts.username
    except ValueError:  # a malformed host or port
        return None
    digits = parts.path.rstrip("/").rpartition("/")[2]
    if not key or not (digits.isascii() and digits.isdigit()) or len(digits) > _MAX_ID_DIGITS:
        return None
    return key, int(digits)
