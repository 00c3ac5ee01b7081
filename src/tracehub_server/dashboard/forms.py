"""Reading the dashboard's HTML forms: bounded, urlencoded only, CSRF checked.

The dashboard's forms are small, so the body is read with a hard byte cap before parsing
(a hostile multi-megabyte or many-field POST is refused early, whatever the framework's own
defaults are), and every field is a plain string: nothing here allocates per input beyond
the cap.
"""

from __future__ import annotations

import hmac
from urllib.parse import parse_qsl

from fastapi import Request

from tracehub_server.auth import sessions
from tracehub_server.dashboard.context import PageContext, PageError, forbidden

MAX_FORM_BYTES = 64 * 1024
MAX_FORM_FIELDS = 100
FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"


class Form:
    """The fields of a submitted form; missing fields read as ``""``."""

    def __init__(self, pairs: list[tuple[str, str]]) -> None:
        self._pairs = pairs

    def get(self, name: str, default: str = "") -> str:
        """The first value of ``name``, surrounding whitespace removed."""
        for key, value in self._pairs:
            if key == name:
                return value.strip()
        return default

    def raw(self, name: str) -> str:
        """The first value of ``name`` as sent (passwords keep their spaces)."""
        for key, value in self._pairs:
            if key == name:
                return value
        return ""

    def getlist(self, name: str) -> list[str]:
        return [value for key, value in self._pairs if key == name]


async def read_form(request: Request) -> Form:
    """Parse an urlencoded body of at most :data:`MAX_FORM_BYTES`; 413/415/400 otherwise."""
    content_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if content_type != FORM_CONTENT_TYPE:
        raise PageError(415, "Unsupported form", "Forms must be sent as " + FORM_CONTENT_TYPE + ".")
    declared = request.headers.get("content-length", "")
    if declared.isascii() and declared.isdigit() and int(declared) > MAX_FORM_BYTES:
        raise PageError(413, "Form too large", f"Forms are limited to {MAX_FORM_BYTES} bytes.")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            raise PageError(413, "Form too large", f"Forms are limited to {MAX_FORM_BYTES} bytes.")
    try:
        pairs = parse_qsl(
            body.decode("utf-8", "replace"),
            keep_blank_values=True,
            max_num_fields=MAX_FORM_FIELDS,
        )
    except ValueError:
        raise PageError(400, "Bad form", "The form has too many fields.") from None
    # NUL cannot be stored in PostgreSQL text; no legitimate field contains it.
    return Form([(k, v.replace("\x00", "")) for k, v in pairs])


async def read_csrf_form(request: Request, page: PageContext) -> Form:
    """Read a form posted by a logged-in user; 403 unless it carries the session's CSRF token."""
    form = await read_form(request)
    presented = form.raw(sessions.CSRF_FORM_FIELD)
    if not presented or not _session_csrf_matches(page, presented):
        raise forbidden("The form's security token is missing or stale; reload the page and retry.")
    return form


def _session_csrf_matches(page: PageContext, presented: str) -> bool:
    if len(presented) > sessions.MAX_TOKEN_CHARS:
        return False
    return hmac.compare_digest(page.csrf.encode(), presented.encode("utf-8", "replace"))
