"""Channels: how a notification reaches people. One module per kind, one small interface.

Each sender's ``send(channel, notification_id, payload)`` returns an :class:`~.base.Outcome`
and never raises for a receiver's failure: the dispatcher decides from ``Outcome.retry``
whether to try again.
"""

from __future__ import annotations

from tracehub_server.alerts.channels.base import Outcome, Sender
from tracehub_server.alerts.channels.email import EmailSender
from tracehub_server.alerts.channels.slack import SlackSender
from tracehub_server.alerts.channels.webhook import WebhookSender
from tracehub_server.settings import Settings

__all__ = [
    "EmailSender",
    "Outcome",
    "Sender",
    "SlackSender",
    "WebhookSender",
    "senders",
    "senders_from_settings",
]


def senders(
    *, smtp_url: str | None, smtp_from: str, ssl_context: object | None = None
) -> dict[str, Sender]:
    """One sender per channel kind."""
    return {
        "email": EmailSender(smtp_url=smtp_url, sender=smtp_from, ssl_context=ssl_context),
        "webhook": WebhookSender(),
        "slack": SlackSender(),
    }


def senders_from_settings(settings: Settings) -> dict[str, Sender]:
    """The senders as configured (``TRACEHUB_SMTP_URL``, ``TRACEHUB_SMTP_FROM``)."""
    return senders(smtp_url=settings.smtp_url, smtp_from=settings.smtp_from)
