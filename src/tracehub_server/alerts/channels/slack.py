"""Slack-compatible incoming webhooks (Slack, Mattermost, Rocket.Chat...): blocks + fallback.

``text`` is the fallback every compatible server shows (and notifications use); ``blocks``
is Slack's richer layout, ignored by servers that do not know it.
"""

from __future__ import annotations

from typing import Any

import orjson

from tracehub_server.alerts.channels.base import (
    SEND_TIMEOUT_SECONDS,
    Outcome,
    post_json,
    text_lines,
)
from tracehub_server.storage.alerts import Channel

#: Slack refuses a section text over 3000 characters.
MAX_SECTION_CHARS = 2900


def _escape(text: str) -> str:
    """Slack's mrkdwn escapes: &, < and > only."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_message(payload: dict[str, Any]) -> dict[str, Any]:
    """The Slack body for a payload document."""
    lines = text_lines(payload)
    title, details = lines[0], lines[1:-1]
    url = payload["url"]
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": title[:150]}},
    ]
    if details:
        body = "\n".join(_escape(line) for line in details)[:MAX_SECTION_CHARS]
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": body}})
    if url.startswith(("http://", "https://")):
        blocks.append(
            {"type": "section", "text": {"type": "mrkdwn", "text": f"<{url}|Open in TraceHub>"}}
        )
    return {"text": f"{title} {url}", "blocks": blocks}


class SlackSender:
    """POSTs :func:`slack_message` to the channel's incoming-webhook URL."""

    def __init__(self, *, timeout: float = SEND_TIMEOUT_SECONDS) -> None:
        self._timeout = timeout

    async def send(
        self, channel: Channel, notification_id: str, payload: dict[str, Any]
    ) -> Outcome:
        return await post_json(
            channel.target, orjson.dumps(slack_message(payload)), {}, timeout=self._timeout
        )
