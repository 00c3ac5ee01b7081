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

__all__ = ["EmailSender", "Outcome", "Sender", "SlackSender", "WebhookSender", "senders"]


def senders(
    *, smtp_url: str | None, smtp_from: str, ssl_context: object | None = None
) -> dict[str, Sender]:
    """One sender per channel kind."""
    return {
        "email": EmailSender(smtp_url=smtp_url, sender=smtp_from, ssl_context=ssl_context),
        "webhook": WebhookSender(),
        "slack": SlackSender(),
    }
