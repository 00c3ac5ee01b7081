"""Slack-compatible messages: blocks with a fallback text, posted to a real receiver."""

from __future__ import annotations

import asyncpg
from alerts_support import Clock, Receiver, add_channel, add_rule, error, ingest, service

from tracehub_server.alerts.channels.slack import slack_message
from tracehub_server.storage.projects import Project


async def test_new_issue_is_posted_as_blocks_with_fallback_text(
    pool: asyncpg.Pool, project: Project, receiver: Receiver
) -> None:
    """The body has ``text`` (title and link) and header/section blocks with the facts."""
    channel = await add_channel(pool, project.id, receiver.url, kind="slack")
    await add_rule(pool, project.id, "new_issue", [channel])
    await ingest(pool, project.id, [error("slack")])
    await service(pool, Clock()).run_once()
    (got,) = receiver.received
    body = got.json()
    assert body["text"].startswith(f"New issue in {project.name}: ZeroDivisionError")
    assert "https://th.example/projects/" in body["text"]
    header, facts, link = body["blocks"]
    assert header["type"] == "header"
    assert "Environment: prod" in facts["text"]["text"]
    assert "shop/slack in compute_total" in facts["text"]["text"]
    assert link["text"]["text"].endswith("|Open in TraceHub>")


def test_markup_in_titles_is_escaped() -> None:
    """A title holding Slack markup cannot inject a link."""
    doc = {
        "kind": "volume", "title": "Log volume in p: <http://evil|click>",
        "project": {"id": 1, "name": "p"},
        "rule": {"id": 1, "name": "r"}, "issue": None, "digest": None,
        "query": {"count": 5, "threshold": 5, "window_minutes": 5}, "url": "/projects/1/logs",
    }  # fmt: skip
    message = slack_message(doc)
    assert all("<http://evil" not in b["text"]["text"] for b in message["blocks"][1:])
    assert len(message["blocks"]) == 2  # a relative link is not offered as a button
