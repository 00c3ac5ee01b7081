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
    "description-saved": ("ok", "Description saved."),
    "description-too-long": ("error", "A description is at most 500 characters."),
    "delete-not-confirmed": ("error", "Nothing deleted: the name typed did not match."),
    "project-deleted": ("ok", "Project deleted, with its logs, issues, keys and rollups."),
    "invitation-revoked": ("ok", "Invitation revoked: its link no longer works."),
    "user-deactivated": ("ok", "User deactivated: their sessions and tokens have stopped."),
    "user-reactivated": ("ok", "User reactivated: they can log in again (tokens stay revoked)."),
    "user-deleted": ("ok", "User deleted. The audit trail keeps their name."),
    "user-approved": ("ok", "Account approved: they can log in now."),
    "not-yourself": ("error", "You cannot do that to your own account."),
    "search-saved": ("ok", "Search saved. Everyone in the project can pick it."),
    "search-deleted": ("ok", "Saved search deleted."),
    "search-exists": ("error", "A saved search of that name exists; choose another name."),
    "search-invalid": ("error", "A saved search needs a name of 1 to 100 characters."),
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
