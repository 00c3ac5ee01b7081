"""The channel interface, an attempt's outcome, and the text every human-facing channel shows."""

from __future__ import annotations

import functools
import ssl
from dataclasses import dataclass
from typing import Any, Protocol

import httpx

from tracehub_server.storage.alerts import Channel

#: Seconds one delivery may take (connect, send, answer) before it counts as failed.
SEND_TIMEOUT_SECONDS = 10.0
#: Characters of a receiver's answer kept in the alert history.
MAX_ANSWER_CHARS = 500


@dataclass(frozen=True, slots=True)
class Outcome:
    """One attempt: delivered, or why not and whether trying again can help."""

    ok: bool
    answer: str
    retry: bool = False


class Sender(Protocol):
    """Delivers one notification over one channel kind."""

    async def send(
        self, channel: Channel, notification_id: str, payload: dict[str, Any]
    ) -> Outcome:
        """Deliver; never raises for the receiver's failure (an Outcome says it)."""
        ...


def http_outcome(response: httpx.Response) -> Outcome:
    """2xx delivered; 408, 429 and 5xx retried; any other answer is final (a wrong URL or
    a refused payload does not get better by repeating)."""
    answer = f"HTTP {response.status_code}: {response.text[:MAX_ANSWER_CHARS]}".rstrip(": ")
    code = response.status_code
    if 200 <= code < 300:
        return Outcome(ok=True, answer=answer)
    return Outcome(ok=False, answer=answer, retry=code in (408, 429) or code >= 500)


def error_outcome(exc: BaseException) -> Outcome:
    """A network error or timeout: retried."""
    text = str(exc) or "no detail"
    return Outcome(ok=False, answer=f"{type(exc).__name__}: {text}"[:MAX_ANSWER_CHARS], retry=True)


@functools.cache
def tls_context() -> ssl.SSLContext:
    """The system's trust store, loaded once: building a context costs tens of milliseconds
    of CPU, which a burst of notifications would otherwise pay per message."""
    return ssl.create_default_context()


async def post_json(
    url: str, body: bytes, headers: dict[str, str], *, timeout: float = SEND_TIMEOUT_SECONDS
) -> Outcome:
    """POST ``body`` and classify the answer (see :func:`http_outcome`)."""
    try:
        async with httpx.AsyncClient(timeout=timeout, verify=tls_context()) as client:
            response = await client.post(
                url, content=body, headers={"Content-Type": "application/json", **headers}
            )
    except (httpx.HTTPError, OSError) as exc:
        return error_outcome(exc)
    return http_outcome(response)


def text_lines(payload: dict[str, Any]) -> list[str]:
    """The message as plain lines: what happened, the facts, the link."""
    lines = [payload["title"]]
    project = payload["project"]["name"]
    if payload.get("rule"):
        lines.append(f"Rule: {payload['rule']['name']}  ·  Project: {project}")
    issue = payload.get("issue")
    if issue:
        lines.append(
            f"Level: {issue['level']}  ·  Environment: {issue['environment'] or '-'}"
            f"  ·  Service: {issue['service'] or '-'}  ·  Events: {issue['events']}"
        )
        lines.append(f"First seen: {issue['first_seen']}  ·  Last seen: {issue['last_seen']}")
        if payload.get("query") and payload["query"].get("count") is not None:
            q = payload["query"]
            lines.append(f"{q['count']} events in the last {q['window_minutes']} minutes")
        if issue["frames"]:
            lines.append("Stack (innermost in-app frames):")
            lines.extend(f"  {frame}" for frame in issue["frames"])
    elif payload.get("query"):
        q = payload["query"]
        lines.append(
            f"At least {q['count']} matching entries in the last {q['window_minutes']} minutes"
        )
    digest = payload.get("digest")
    if digest:
        for item in digest["issues"]:
            lines.append(f"  - {item['title']} ({item['url']})")
        if digest["more"]:
            lines.append(f"  … and {digest['more']} more")
    lines.append(payload["url"])
    return lines
