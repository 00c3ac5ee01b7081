"""Email to a real SMTP server (aiosmtpd) in the test process: plain, STARTTLS, TLS, AUTH."""

from __future__ import annotations

import socket
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import asyncpg
import pytest
from alerts_support import Clock, add_channel, add_rule, error, ingest, notifications, service

from tracehub_server.alerts.channels.email import EmailSender
from tracehub_server.storage.alerts import Channel
from tracehub_server.storage.projects import Project

aiosmtpd_controller = pytest.importorskip("aiosmtpd.controller")
trustme = pytest.importorskip("trustme")
from aiosmtpd.smtp import AuthResult, LoginPassword  # noqa: E402 -- after the importorskip

PASSWORD = "pa:ss/w@rd"  # characters that need quoting in a URL


class Inbox:
    """An aiosmtpd handler keeping every message it accepts."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], EmailMessage]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = message_from_bytes(envelope.original_content, policy=policy.default)
        self.messages.append((list(envelope.rcpt_tos), parsed))  # type: ignore[arg-type]
        return "250 OK"


def _authenticate(
    server: Any, session: Any, envelope: Any, mechanism: str, data: Any
) -> AuthResult:
    ok = isinstance(data, LoginPassword) and (data.login, data.password) == (
        b"alerts",
        PASSWORD.encode(),
    )
    return AuthResult(success=ok, handled=False)  # handled=False: aiosmtpd answers 535


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def ca() -> Any:
    """A throwaway certificate authority; the server's certificate is for 127.0.0.1."""
    return trustme.CA()


@pytest.fixture
def client_context(ca: Any) -> ssl.SSLContext:
    context = ssl.create_default_context()
    ca.configure_trust(context)
    return context


@contextmanager
def smtp_server(
    ca: Any, *, starttls: bool = False, implicit_tls: bool = False, auth: bool = False
) -> Iterator[tuple[Inbox, int]]:
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server_context)
    inbox = Inbox()
    params: dict[str, Any] = {}
    if starttls:
        params.update(tls_context=server_context, require_starttls=True)
    if auth:
        params.update(authenticator=_authenticate, auth_required=True, auth_require_tls=True)
    port = _free_port()
    controller = aiosmtpd_controller.Controller(
        inbox,
        hostname="127.0.0.1",
        port=port,
        ssl_context=server_context if implicit_tls else None,
        server_hostname="127.0.0.1",
        **params,
    )
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


def _channel(to: str = "ops@example.com, dev@example.com") -> Channel:
    return Channel(1, 1, "mail", "email", to, None, datetime.now(timezone.utc))


PAYLOAD = {
    "kind": "new_issue",
    "title": "New issue in shop: ZeroDivisionError: division by zero",
    "project": {"id": 1, "name": "shop"},
    "rule": {"id": 2, "name": "every new issue"},
    "issue": {
        "id": 3, "title": "ZeroDivisionError: division by zero", "level": "ERROR",
        "service": "shop", "environment": "prod", "status": "OPEN", "events": 4,
        "first_seen": "2026-01-01T00:00:00+00:00", "last_seen": "2026-01-01T00:05:00+00:00",
        "error_type": "ZeroDivisionError", "error_message": "division by zero",
        "frames": ["shop/pricing in compute_total"], "url": "https://th.example/projects/1/issues/3",
    },
    "query": None,
    "digest": None,
    "url": "https://th.example/projects/1/issues/3",
}  # fmt: skip


async def test_plain_smtp_without_auth_delivers_multipart(ca: Any) -> None:
    """smtp:// to a server without TLS or AUTH: text and HTML parts, every fact, the link."""
    with smtp_server(ca) as (inbox, port):
        sender = EmailSender(smtp_url=f"smtp://127.0.0.1:{port}", sender="th@example.com")
        outcome = await sender.send(_channel(), "nid-1", PAYLOAD)
    assert outcome.ok, outcome.answer
    ((rcpt, message),) = inbox.messages
    assert rcpt == ["ops@example.com", "dev@example.com"]
    assert message["Subject"] == PAYLOAD["title"]
    assert message["X-TraceHub-Notification-Id"] == "nid-1"
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    for fact in (
        "Environment: prod",
        "Events: 4",
        "shop/pricing in compute_total",
        "th.example/projects/1/issues/3",
    ):
        assert fact in text
    assert 'href="https://th.example/projects/1/issues/3"' in html


async def test_starttls_with_auth_delivers(ca: Any, client_context: ssl.SSLContext) -> None:
    """smtp:// with user and password upgrades with STARTTLS, then logs in."""
    with smtp_server(ca, starttls=True, auth=True) as (inbox, port):
        url = f"smtp://alerts:pa%3Ass%2Fw%40rd@127.0.0.1:{port}"
        sender = EmailSender(smtp_url=url, sender="th@example.com", ssl_context=client_context)
        outcome = await sender.send(_channel("ops@example.com"), "nid-2", PAYLOAD)
    assert outcome.ok, outcome.answer
    assert len(inbox.messages) == 1


async def test_wrong_password_is_a_final_failure_that_hides_the_password(
    ca: Any, client_context: ssl.SSLContext
) -> None:
    """535 from the server: not retried, and the answer never shows the password."""
    with smtp_server(ca, starttls=True, auth=True) as (inbox, port):
        url = f"smtp://alerts:wrong-secret@127.0.0.1:{port}"
        sender = EmailSender(smtp_url=url, sender="th@example.com", ssl_context=client_context)
        outcome = await sender.send(_channel(), "nid-3", PAYLOAD)
    assert not outcome.ok
    assert not outcome.retry
    assert outcome.answer.startswith("SMTP 535")
    assert "wrong-secret" not in outcome.answer
    assert inbox.messages == []


async def test_password_is_never_sent_without_tls(ca: Any) -> None:
    """A server that offers no STARTTLS gets no password: the send fails with the reason."""
    with smtp_server(ca) as (inbox, port):
        sender = EmailSender(smtp_url=f"smtp://alerts:x@127.0.0.1:{port}", sender="th@example.com")
        outcome = await sender.send(_channel(), "nid-4", PAYLOAD)
    assert not outcome.ok
    assert "STARTTLS" in outcome.answer
    assert inbox.messages == []


async def test_smtps_implicit_tls_with_auth_delivers(
    ca: Any, client_context: ssl.SSLContext
) -> None:
    """smtps:// speaks TLS from the first byte."""
    with smtp_server(ca, implicit_tls=True) as (inbox, port):
        sender = EmailSender(
            smtp_url=f"smtps://127.0.0.1:{port}",
            sender="th@example.com",
            ssl_context=client_context,
        )
        outcome = await sender.send(_channel(), "nid-5", PAYLOAD)
    assert outcome.ok, outcome.answer
    assert len(inbox.messages) == 1


async def test_refused_connection_is_retried() -> None:
    """Nothing listening: a retryable failure."""
    sender = EmailSender(smtp_url=f"smtp://127.0.0.1:{_free_port()}", sender="th@example.com")
    outcome = await sender.send(_channel(), "nid-6", PAYLOAD)
    assert not outcome.ok
    assert outcome.retry
    assert "ConnectionRefusedError" in outcome.answer


async def test_new_issue_reaches_the_inbox_through_the_dispatcher(
    pool: asyncpg.Pool, project: Project, ca: Any, client_context: ssl.SSLContext
) -> None:
    """Digest -> outbox -> planner -> dispatcher -> SMTP with STARTTLS and AUTH."""
    with smtp_server(ca, starttls=True, auth=True) as (inbox, port):
        channel = await add_channel(pool, project.id, "oncall@example.com", kind="email")
        await add_rule(pool, project.id, "new_issue", [channel])
        await ingest(pool, project.id, [error("mail")])
        url = f"smtp://alerts:pa%3Ass%2Fw%40rd@127.0.0.1:{port}"
        await service(pool, Clock(), smtp_url=url, ssl_context=client_context).run_once()
    ((rcpt, message),) = inbox.messages
    assert rcpt == ["oncall@example.com"]
    assert message["Subject"].startswith(f"New issue in {project.name}")
    (note,) = await notifications(pool, project.id)
    assert note["status"] == "sent"
