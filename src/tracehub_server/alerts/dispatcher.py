"""The dispatcher: delivers due notifications, with retries, backoff and a deadline.

Guarantee: **at least once, until the deadline, with the same notification id.** A
notification is claimed with a lease (``FOR UPDATE SKIP LOCKED``, then ``locked_until``):
dispatchers in several processes claim disjoint notifications, and one leased is not
sent by anyone else while the lease lasts. No connection or transaction is held while
sending, so a hanging receiver holds nothing but its own notification. After the send the
outcome is recorded (an ``alert_attempts`` row and the new status). A dispatcher that dies
between the receiver's acceptance and that record leaves the lease to expire, and the
notification is sent again -- with the same ``notification_id``.

Retries: an outcome with ``retry`` (network error, timeout, HTTP 408/429/5xx, SMTP 4xx) is
tried again after an exponential backoff with jitter (:class:`DispatchOptions`) until the
deadline; any other failure is final at once.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

import asyncpg

from tracehub_server.alerts.channels.base import Outcome, Sender
from tracehub_server.storage import alert_outbox as outbox
from tracehub_server.storage.alert_outbox import Claimed

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class DispatchOptions:
    #: Delay before the first retry; doubled on each further one.
    backoff_base: timedelta = timedelta(seconds=10)
    #: The longest delay between two attempts.
    backoff_max: timedelta = timedelta(hours=1)
    #: How long a claim keeps a notification off the other dispatchers (must exceed a send).
    lease: timedelta = timedelta(seconds=60)
    #: Notifications claimed (and sent concurrently) per run.
    batch: int = 20


def retry_at(
    note: Claimed, outcome: Outcome, options: DispatchOptions, now: datetime
) -> datetime | None:
    """When to try again, or None when the failure is final or the deadline has passed."""
    if not outcome.retry or now >= note.deadline:
        return None
    delay = min(options.backoff_base * 2 ** max(note.attempts - 1, 0), options.backoff_max)
    jittered = delay * random.uniform(0.8, 1.2)
    return min(now + jittered, note.deadline)


async def _deliver(note: Claimed, senders: Mapping[str, Sender]) -> Outcome:
    if note.channel is None:
        return Outcome(ok=False, answer="the channel was deleted")
    sender = senders.get(note.channel.kind)
    if sender is None:
        return Outcome(ok=False, answer=f"no sender for channel kind {note.channel.kind!r}")
    try:
        return await sender.send(note.channel, str(note.id), note.payload)
    except Exception as exc:  # a sender's bug must not lose the notification
        logger.exception("alert sender %s failed", note.channel.kind)
        return Outcome(ok=False, answer=f"internal error: {type(exc).__name__}", retry=True)


async def dispatch(
    pool: asyncpg.Pool,
    senders: Mapping[str, Sender],
    *,
    options: DispatchOptions,
    now: datetime,
) -> int:
    """Claim and send one batch of due notifications; returns how many were claimed."""
    async with pool.acquire() as conn:
        claimed = await outbox.claim_due(conn, now, now + options.lease, options.batch)
    if not claimed:
        return 0
    outcomes = await asyncio.gather(*(_deliver(n, senders) for n in claimed))
    async with pool.acquire() as conn:
        for note, outcome in zip(claimed, outcomes, strict=True):
            await outbox.record_attempt(
                conn,
                note,
                ok=outcome.ok,
                answer=outcome.answer,
                retry_at=None if outcome.ok else retry_at(note, outcome, options, now),
                now=now,
            )
    return len(claimed)
