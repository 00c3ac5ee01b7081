"""Helpers for alert tests: entries for the digest, a real webhook receiver, a test service."""

from __future__ import annotations

import secrets
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import asyncpg
import orjson

from tracehub_server.alerts.channels import Sender, senders
from tracehub_server.alerts.channels.slack import SlackSender
from tracehub_server.alerts.channels.webhook import WebhookSender
from tracehub_server.alerts.dispatcher import DispatchOptions
from tracehub_server.alerts.planner import PlanOptions
from tracehub_server.alerts.service import AlertService
from tracehub_server.queue.messages import IngestBatch
from tracehub_server.storage import alerts as store
from tracehub_server.storage.alerts import Channel, Rule, RuleFields
from tracehub_server.worker.digest import DigestResult, digest

TRACE = """Traceback (most recent call last):
  File "/srv/app/shop/views.py", line 12, in checkout
    total = compute_total(cart)
  File "/srv/app/shop/{module}.py", line 17, in compute_total
    return sum(item.price for item in cart.items) / cart.count
ZeroDivisionError: division by zero
"""


def entry(now: datetime | None = None, **fields: Any) -> dict[str, Any]:
    """A validated INFO entry as the API produces it."""
    stamp = (now or datetime.now(timezone.utc)).isoformat()
    base: dict[str, Any] = {
        "event_id": secrets.token_hex(16),
        "timestamp": stamp,
        "received_at": stamp,
        "level": "INFO",
        "service": "shop",
        "environment": "prod",
        "message": "hello",
        "host": "h1",
        "pid": 1,
        "thread_id": 1,
        "sdk_version": "0.1.0",
        "module": "shop.views",
        "trace_id": None,
        "error_type": None,
        "error_message": None,
        "stack_trace": None,
        "extra": None,
        "original_timestamp": None,
    }
    base.update(fields)
    return base


def error(module: str = "pricing", now: datetime | None = None, **fields: Any) -> dict[str, Any]:
    """An ERROR entry whose trace raises in ``module`` (one issue per module)."""
    base = {
        "level": "ERROR",
        "message": "checkout failed",
        "error_type": "ZeroDivisionError",
        "error_message": "division by zero",
        "stack_trace": TRACE.format(module=module),
    }
    base.update(fields)
    return entry(now, **base)


async def ingest(
    pool: asyncpg.Pool, project_id: int, entries: Sequence[dict[str, Any]]
) -> DigestResult:
    """Digest one batch, as a worker would."""
    return await digest(pool, [IngestBatch(project_id, list(entries))])


async def add_channel(
    pool: asyncpg.Pool,
    project_id: int,
    url: str,
    *,
    kind: str = "webhook",
    secret: str | None = None,
) -> Channel:
    async with pool.acquire() as conn:
        return await store.create_channel(
            conn,
            project_id,
            name=f"{kind}-{secrets.token_hex(3)}",
            kind=kind,
            target=url,
            secret=secret,
        )


async def add_rule(
    pool: asyncpg.Pool, project_id: int, kind: str, channels: Sequence[Channel], **fields: Any
) -> Rule:
    async with pool.acquire() as conn:
        return await store.create_rule(
            conn,
            project_id,
            RuleFields(
                name=f"{kind} rule", kind=kind, channel_ids=[c.id for c in channels], **fields
            ),
        )


async def notifications(pool: asyncpg.Pool, project_id: int) -> list[asyncpg.Record]:
    async with pool.acquire() as conn:
        return await conn.fetch(
            "SELECT * FROM alert_notifications WHERE project_id = $1 ORDER BY created_at, id",
            project_id,
        )


async def triggers(pool: asyncpg.Pool, project_id: int) -> list[asyncpg.Record]:
    async with pool.acquire() as conn:
        return await conn.fetch(
            "SELECT * FROM alert_triggers WHERE project_id = $1 ORDER BY id", project_id
        )


class Clock:
    """A settable clock for the service (the dispatcher's backoff and intervals read it)."""

    def __init__(self) -> None:
        self.now = datetime.now(timezone.utc)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def fast_senders(timeout: float = 0.5, **email: Any) -> dict[str, Sender]:
    """Real senders with a short HTTP timeout (a hanging receiver fails fast)."""
    out = senders(
        smtp_url=email.get("smtp_url"),
        smtp_from="alerts@test",
        ssl_context=email.get("ssl_context"),
    )
    out["webhook"] = WebhookSender(timeout=timeout)
    out["slack"] = SlackSender(timeout=timeout)
    return out


def service(
    pool: asyncpg.Pool, clock: Clock, *, hourly_cap: int = 20, **email: Any
) -> AlertService:
    """An alert service with no jitter-sensitive waits: backoff from 1 s, driven by ``clock``."""
    return AlertService(
        pool,
        senders=fast_senders(**email),
        plan_options=PlanOptions(
            hourly_cap=hourly_cap, digest_minutes=10, public_url="https://th.example"
        ),
        dispatch_options=DispatchOptions(
            backoff_base=timedelta(seconds=1), lease=timedelta(seconds=30)
        ),
        evaluate_seconds=0,
        clock=clock,
    )


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return orjson.loads(self.body)


@dataclass
class Receiver:
    """A real HTTP server on 127.0.0.1 that answers by a script: ``ok``, ``fail``, ``hang``,
    ``gone`` (then ``ok`` once the script is used up)."""

    url: str
    script: list[str] = field(default_factory=list)
    received: list[Received] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)


@contextmanager
def webhook_receiver(script: Sequence[str] = ()) -> Iterator[Receiver]:
    state: Receiver

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            state.received.append(Received(self.path, dict(self.headers.items()), body))
            mode = state.script.pop(0) if state.script else "ok"
            if mode == "hang":
                state.release.wait(5)
                return
            code = {"ok": 200, "fail": 503, "gone": 404}[mode]
            answer = b"accepted" if code == 200 else b"receiver is down"
            self.send_response(code)
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *args: Any) -> None:
            pass

    class Server(ThreadingHTTPServer):
        request_queue_size = 128  # many dispatchers connect at once

    server = Server(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    state = Receiver(url=f"http://127.0.0.1:{server.server_address[1]}/hook", script=list(script))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        state.release.set()
        server.shutdown()
        server.server_close()
