"""One-shot notices after a redirect ("Key revoked.").

The redirect carries a short code (``?done=key-revoked``), never text: a crafted link can
only pick one of these fixed messages, so notices cannot be used to inject content.
"""

from __future__ import annotations

from fastapi import Request

MESSAGES: dict[str, tuple[str, str]] = {
    "key-revoked": ("ok", "API key revoked. Clients using it are refused within seconds."),
    "password-changed": ("ok", "Password changed. Your other sessions were logged out."),
    "token-revoked": ("ok", "Token revoked."),
    "user-created": ("ok", "User created. Share the password with them privately."),
    "user-updated": ("ok", "User updated."),
    "member-saved": ("ok", "Member saved."),
    "member-removed": ("ok", "Member removed."),
    "project-renamed": ("ok", "Project renamed. Filters by the old name no longer match it."),
    "project-created": ("ok", "Project created. Create an API key below to start sending logs."),
    "issue-updated": ("ok", "Issue updated."),
    "issues-merged": ("ok", "Issues merged. New events of every merged issue land here."),
    "merge-refused": ("error", "Not merged: choose open issues of this project not merged yet."),
    "issue-unmerged": ("ok", "Unmerged. New events of this issue's fingerprint land here again."),
    "scrubbing-saved": ("ok", "Scrubbing rules saved. They apply to data received from now on."),
    "scrubbing-too-many": ("error", "Not saved: at most 100 key names per list."),
}


def flashes(request: Request) -> list[tuple[str, str]]:
    """The notice named by ``?done=``, if it is one of ours."""
    code = request.query_params.get("done", "")
    return [MESSAGES[code]] if code in MESSAGES else []
