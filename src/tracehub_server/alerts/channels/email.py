"""Email channel over SMTP: multipart plain text and HTML, sent from a thread.

``TRACEHUB_SMTP_URL``: ``smtp://[user:password@]host[:port]`` connects in clear and upgrades
with STARTTLS when the server offers it (a password is never sent without it);
``smtps://`` speaks TLS from the start (port 465 by default). The password comes only from
the URL and appears in no log, answer or error message.

Outcomes: a 5xx reply (recipient refused, authentication failed) is final; 4xx replies,
refused connections and timeouts are retried.
"""

from __future__ import annotations

import asyncio
import html
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Any
from urllib.parse import unquote, urlsplit

from tracehub_server.alerts.channels.base import (
    MAX_ANSWER_CHARS,
    SEND_TIMEOUT_SECONDS,
    Outcome,
    error_outcome,
    text_lines,
    tls_context,
)
from tracehub_server.storage.alerts import Channel


class SmtpConfigError(ValueError):
    """The SMTP settings cannot work; the message says which and why."""


def recipients(target: str) -> list[str]:
    """The channel's addresses: comma- or whitespace-separated."""
    return [a for a in target.replace(",", " ").split() if a]


def build_message(
    payload: dict[str, Any], *, sender: str, to: list[str], notification_id: str
) -> EmailMessage:
    """The multipart message: plain text first, HTML as the alternative."""
    lines = text_lines(payload)
    message = EmailMessage()
    message["Subject"] = lines[0][:200]
    message["From"] = sender
    message["To"] = ", ".join(to)
    message["Message-ID"] = make_msgid(idstring=notification_id)
    message["X-TraceHub-Notification-Id"] = notification_id
    message.set_content("\n".join(lines) + "\n")
    url = payload["url"]
    body = "".join(f"<p>{html.escape(line)}</p>" for line in lines[1:-1])
    link = f'<p><a href="{html.escape(url)}">Open in TraceHub</a></p>'
    message.add_alternative(
        f"<html><body><h2>{html.escape(lines[0])}</h2>{body}{link}</body></html>",
        subtype="html",
    )
    return message


class EmailSender:
    """Sends through the one configured SMTP server."""

    def __init__(
        self, *, smtp_url: str | None, sender: str, ssl_context: object | None = None
    ) -> None:
        self._url = smtp_url
        self._sender = sender
        self._context = ssl_context if isinstance(ssl_context, ssl.SSLContext) else None

    async def send(
        self, channel: Channel, notification_id: str, payload: dict[str, Any]
    ) -> Outcome:
        if not self._url:
            return Outcome(ok=False, answer="TRACEHUB_SMTP_URL is not set on the server")
        to = recipients(channel.target)
        if not to:
            return Outcome(ok=False, answer="the channel has no recipient address")
        message = build_message(
            payload, sender=self._sender, to=to, notification_id=notification_id
        )
        return await send_message(
            self._url, message, to, sender=self._sender, context=self._context
        )


def plain_message(*, sender: str, to: list[str], subject: str, text: str) -> EmailMessage:
    """A message of the server's own (an invitation): plain text, and HTML with its links."""
    message = EmailMessage()
    message["Subject"] = subject[:200]
    message["From"] = sender
    message["To"] = ", ".join(to)
    message["Message-ID"] = make_msgid()
    message.set_content(text)
    paragraphs = "".join(f"<p>{html.escape(part)}</p>" for part in text.split("\n\n") if part)
    message.add_alternative(f"<html><body>{paragraphs}</body></html>", subtype="html")
    return message


async def send_message(
    smtp_url: str,
    message: EmailMessage,
    to: list[str],
    *,
    sender: str,
    context: ssl.SSLContext | None = None,
) -> Outcome:
    """Deliver ``message`` through the SMTP server of ``smtp_url``; the outcome, never raising."""
    try:
        await asyncio.to_thread(_deliver, smtp_url, sender, context, message, to)
    except SmtpConfigError as exc:
        return Outcome(ok=False, answer=str(exc))
    except smtplib.SMTPResponseException as exc:
        text = (
            exc.smtp_error.decode(errors="replace")
            if isinstance(exc.smtp_error, bytes)
            else str(exc.smtp_error)
        )
        answer = f"SMTP {exc.smtp_code}: {text}"[:MAX_ANSWER_CHARS]
        return Outcome(ok=False, answer=answer, retry=exc.smtp_code < 500)
    except smtplib.SMTPRecipientsRefused as exc:
        return Outcome(ok=False, answer=f"recipients refused: {sorted(exc.recipients)}")
    except (smtplib.SMTPException, OSError) as exc:
        return error_outcome(exc)
    return Outcome(ok=True, answer=f"250 accepted for {', '.join(to)}")


def _deliver(
    smtp_url: str,
    sender: str,
    context: ssl.SSLContext | None,
    message: EmailMessage,
    to: list[str],
) -> None:
    url = urlsplit(smtp_url)
    host = url.hostname or "localhost"
    context = context or tls_context()
    smtp: smtplib.SMTP
    if url.scheme == "smtps":
        smtp = smtplib.SMTP_SSL(
            host, url.port or 465, timeout=SEND_TIMEOUT_SECONDS, context=context
        )
    else:
        smtp = smtplib.SMTP(host, url.port or 587, timeout=SEND_TIMEOUT_SECONDS)
    with smtp:
        smtp.ehlo()
        if url.scheme == "smtp" and smtp.has_extn("starttls"):
            smtp.starttls(context=context)
            smtp.ehlo()
        elif url.scheme == "smtp" and url.username:
            raise SmtpConfigError(
                "the SMTP server does not offer STARTTLS; refusing to send the password"
                " in clear (use smtps:// or a server with STARTTLS)"
            )
        if url.username:
            smtp.login(unquote(url.username), unquote(url.password or ""))
        smtp.send_message(message, from_addr=sender, to_addrs=to)
