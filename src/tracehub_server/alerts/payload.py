"""The facts of a notification, as one JSON document every channel formats its own way.

The document is the webhook's body as is (see ``docs/alerts.md``); email and Slack render
it into text. It is built when the notification is planned and stored with it, so every
attempt sends the same thing.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from tracehub_server.grouping.frames import parse_stack

#: In-app frames shown in a message (innermost first).
MAX_FRAMES_SHOWN = 5
#: Issues listed by name in a digest.
MAX_DIGEST_ISSUES = 10

KIND_LABELS = {
    "new_issue": "New issue",
    "regression": "Regression",
    "frequency": "Frequent issue",
    "volume": "Log volume",
    "digest": "Alert digest",
    "test": "Test notification",
}
#: How a folded trigger is counted in a digest ("and 37 more new issues").
FOLDED_NOUNS = {
    "new_issue": "new issues",
    "regression": "regressions",
    "frequency": "frequent issues",
    "volume": "log volume alerts",
}


class Links:
    """Absolute links when ``public_url`` is set, else paths relative to the dashboard."""

    def __init__(self, public_url: str | None) -> None:
        self._base = (public_url or "").rstrip("/")

    def issue(self, project_id: int, issue_id: int) -> str:
        return f"{self._base}/projects/{project_id}/issues/{issue_id}"

    def issues(self, project_id: int) -> str:
        return f"{self._base}/projects/{project_id}/issues"

    def logs(self, project_id: int, params: list[list[str]]) -> str:
        from urllib.parse import urlencode

        query = urlencode([(k, v) for k, v in params])
        return f"{self._base}/projects/{project_id}/logs" + (f"?{query}" if query else "")

    def alerts(self, project_id: int) -> str:
        return f"{self._base}/projects/{project_id}/settings/alerts"


def in_app_frames(stack_trace: str | None) -> list[str]:
    """The innermost in-app frames as ``module in function`` (all frames if none is in-app)."""
    parsed = parse_stack(stack_trace)
    if parsed is None:
        return []
    frames = [f for f in parsed.frames if f.in_app] or list(parsed.frames)
    return [f"{f.module} in {f.function}" for f in frames[:MAX_FRAMES_SHOWN]]


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def issue_facts(issue: Mapping[str, Any], links: Links) -> dict[str, Any]:
    """The ``issue`` object of a payload, from an ``issue_facts`` row."""
    return {
        "id": issue["id"],
        "title": issue["title"],
        "level": issue["level"],
        "service": issue["service"],
        "environment": issue["environment"],
        "status": issue["status"],
        "events": issue["event_count"],
        "first_seen": _iso(issue["first_seen"]),
        "last_seen": _iso(issue["last_seen"]),
        "error_type": issue["error_type"],
        "error_message": issue["error_message"],
        "frames": in_app_frames(issue["sample_stack_trace"]),
        "url": links.issue(issue["project_id"], issue["id"]),
    }


def base(
    kind: str,
    *,
    project: tuple[int, str],
    rule: tuple[int, str] | None,
    now: datetime,
    title: str,
    url: str,
) -> dict[str, Any]:
    """The fields every payload has; ``issue``, ``query`` and ``digest`` start empty."""
    return {
        "kind": kind,
        "title": title,
        "created_at": now.isoformat(),
        "project": {"id": project[0], "name": project[1]},
        "rule": {"id": rule[0], "name": rule[1]} if rule else None,
        "issue": None,
        "query": None,
        "digest": None,
        "url": url,
    }


def issue_title(kind: str, project_name: str, issue_title_: str) -> str:
    return f"{KIND_LABELS[kind]} in {project_name}: {issue_title_}"


def digest_summary(by_kind: Mapping[str, int]) -> str:
    """``37 new issues, 2 regressions``."""
    return ", ".join(f"{n} {FOLDED_NOUNS.get(k, k)}" for k, n in sorted(by_kind.items()) if n)
