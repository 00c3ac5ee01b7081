"""Redirect helpers: 303 after every POST, and only ever to a path on this site."""

from __future__ import annotations

from fastapi.responses import RedirectResponse


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
