"""Webhook channel: the payload as JSON, signed so receivers can verify it and refuse replays.

Headers on every request:

* ``X-TraceHub-Notification-Id`` -- the same on every attempt of one notification.
* ``X-TraceHub-Timestamp`` -- Unix seconds of this attempt.
* ``X-TraceHub-Signature`` -- ``sha256=`` + hex HMAC-SHA256, keyed with the channel's
  secret, of ``"{timestamp}.{body}"`` (only when the channel has a secret). A receiver
  recomputes it over the raw body and refuses a timestamp older than a few minutes.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from typing import Any

import orjson

from tracehub_server.alerts.channels.base import SEND_TIMEOUT_SECONDS, Outcome, post_json
from tracehub_server.storage.alerts import Channel

ID_HEADER = "X-TraceHub-Notification-Id"
TIMESTAMP_HEADER = "X-TraceHub-Timestamp"
SIGNATURE_HEADER = "X-TraceHub-Signature"


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The signature header's value for ``body`` sent at ``timestamp``."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify(secret: str, timestamp: str, body: bytes, signature: str) -> bool:
    """What a receiver does (and the tests do): compare in constant time."""
    return hmac.compare_digest(sign(secret, timestamp, body), signature)


class WebhookSender:
    """POSTs the payload document to the channel's URL."""

    def __init__(self, *, timeout: float = SEND_TIMEOUT_SECONDS) -> None:
        self._timeout = timeout

    async def send(
        self, channel: Channel, notification_id: str, payload: dict[str, Any]
    ) -> Outcome:
        body = orjson.dumps(payload)
        timestamp = str(int(time.time()))
        headers = {ID_HEADER: notification_id, TIMESTAMP_HEADER: timestamp}
        if channel.secret:
            headers[SIGNATURE_HEADER] = sign(channel.secret, timestamp, body)
        return await post_json(channel.target, body, headers, timeout=self._timeout)
