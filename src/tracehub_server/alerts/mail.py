"""Mail the server sends on its own behalf (invitations), through the alerts' SMTP server."""

from __future__ import annotations

from datetime import datetime

from tracehub_server.alerts.channels.base import Outcome
from tracehub_server.alerts.channels.email import plain_message, send_message
from tracehub_server.settings import Settings


async def send_invitation(
    settings: Settings, *, to: str, project: str, role: str, link: str, expires_at: datetime
) -> Outcome | None:
    """Email an invitation's one-time link; None when no SMTP server is configured.

    The link is shown to the admin either way, so a failed send loses nothing: the page says
    what the mail server answered and the admin copies the link instead.
    """
    if not settings.smtp_url:
        return None
    text = (
        f"You are invited to the TraceHub project {project} as a {role}.\n\n"
        f"Open this link to set your password and join: {link}\n\n"
        f"It works once, until {expires_at:%Y-%m-%d %H:%M} UTC."
    )
    message = plain_message(
        sender=settings.smtp_from,
        to=[to],
        subject=f"Invitation to {project} on TraceHub",
        text=text,
    )
    return await send_message(settings.smtp_url, message, [to], sender=settings.smtp_from)
