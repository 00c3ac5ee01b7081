"""Invitations are emailed when the server has a mail server, and shown once either way."""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator
from email import message_from_bytes, policy
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller
from fastapi import FastAPI
from pages_support import Seed

from tracehub_server.settings import Settings

Client = tuple[httpx.AsyncClient, str]


class Inbox:
    """An aiosmtpd handler keeping every message it accepts."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], Any]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = message_from_bytes(envelope.original_content, policy=policy.default)
        self.messages.append((list(envelope.rcpt_tos), parsed))
        return "250 OK"


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    """A real SMTP server on 127.0.0.1 (no TLS, no authentication)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


async def _invite(client: httpx.AsyncClient, csrf: str, project_id: int, email: str) -> str:
    r = await client.post(
        f"/projects/{project_id}/settings/invitations",
        data={"csrf_token": csrf, "email": email, "role": "viewer"},
    )
    assert r.status_code == 200, r.text
    return r.text


async def test_invitation_is_emailed_with_its_link(
    app: FastAPI, as_admin: Client, seed: Seed, smtp: tuple[Inbox, int]
) -> None:
    """With TRACEHUB_SMTP_URL set, the invitee gets the same one-time link the admin sees."""
    inbox, port = smtp
    base: Settings = app.state.settings
    app.state.settings = base.model_copy(update={"smtp_url": f"smtp://127.0.0.1:{port}"})
    client, csrf = as_admin
    page = await _invite(client, csrf, seed.project_id, "invitee-mail@example.com")
    link = re.search(r'id="invite-link">([^<]+)<', page)
    assert link is not None
    assert "also emailed to invitee-mail@example.com" in page
    assert len(inbox.messages) == 1
    recipients, message = inbox.messages[0]
    assert recipients == ["invitee-mail@example.com"]
    assert link.group(1) in message.get_body(preferencelist=("plain",)).get_content()


async def test_invitation_without_mail_server_says_so(as_admin: Client, seed: Seed) -> None:
    """Without a mail server nothing is sent and the page says the link must be copied."""
    client, csrf = as_admin
    page = await _invite(client, csrf, seed.project_id, "invitee-nomail@example.com")
    assert "No email was sent" in page


async def test_refused_invitation_mail_is_reported(
    app: FastAPI, as_admin: Client, seed: Seed
) -> None:
    """A mail server that is down: the link is still shown, with the reason it was not sent."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed_port = int(sock.getsockname()[1])
    base: Settings = app.state.settings
    app.state.settings = base.model_copy(update={"smtp_url": f"smtp://127.0.0.1:{closed_port}"})
    client, csrf = as_admin
    page = await _invite(client, csrf, seed.project_id, "invitee-down@example.com")
    assert "Emailing the link failed" in page
    assert 'id="invite-link"' in page
