"""Redirect helpers: 303 after every POST, and only ever to a path on this site."""

from __future__ import annotations

import asyncpg
from fastapi.responses import RedirectResponse

from tracehub_server.auth.permissions import load_access
from tracehub_server.storage.users import User


def safe_next(target: str | None, default: str = "/") -> str:
    """``target`` when it is a local path ("/projects/1/logs?..."), else ``default``.

    Refuses absolute and scheme-relative URLs ("//evil.example", "/\\evil.example") so the
    login form's ``next`` cannot send a user to another site.
    """
    if (
        not target
        or len(target) > 2000
        or not target.startswith("/")
        or target.startswith(("//", "/\\"))
        or any(ord(ch) < 32 for ch in target)
    ):
        return default
    return target


def see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


async def landing(conn: asyncpg.Connection, user: User, next_url: str) -> str:
    """Where a login goes: ``next_url``, except that the bare ``/`` of a user who can read
    exactly one project becomes that project's overview (the list would be a detour)."""
    if next_url != "/":
        return next_url
    readable = (await load_access(conn, user)).readable
    return f"/projects/{next(iter(readable))}" if len(readable) == 1 else next_url
