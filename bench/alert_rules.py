"""Alert rules for ``bench_server.py --alert-rules N``: N active rules of each kind, a receiver.

The rules are what a busy project might carry: every kind, limited by level, service or an
explorer query, all sending to one webhook answered by :class:`Receiver` (a real HTTP
server on 127.0.0.1 that accepts everything), so the digest's outbox, the planner, the
windowed evaluation and the dispatcher all run during the measured ingest.
"""

from __future__ import annotations

import secrets
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import asyncpg

from tracehub_server.storage import alerts as store
from tracehub_server.storage.alerts import RuleFields
from tracehub_server.storage.db import create_pool

#: Volume rules cycle through these explorer queries (each matches part of the bench's traffic).
VOLUME_QUERIES = ("level=ERROR", "service=bench&level=WARN", "q=failed", "extra.path=/api/orders")


class Receiver:
    """A webhook receiver answering 200; counts what it got."""

    def __init__(self) -> None:
        receiver = self
        self.received = 0

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length", "0")))
                receiver.received += 1
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/hook"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def _rules(n: int, channel_id: int) -> list[RuleFields]:
    rules = []
    for i in range(n):
        common = {"channel_ids": [channel_id], "interval_minutes": 60}
        rules += [
            RuleFields(name=f"new {i}", kind="new_issue", **common),
            RuleFields(name=f"regression {i}", kind="regression", **common),
            RuleFields(
                name=f"frequency {i}", kind="frequency", threshold=50 + i, window_minutes=5,
                levels=["ERROR", "FATAL"] if i % 2 else [], **common,
            ),
            RuleFields(
                name=f"volume {i}", kind="volume", threshold=100 + i, window_minutes=5,
                query=[p.split("=") for p in VOLUME_QUERIES[i % len(VOLUME_QUERIES)].split("&")],
                services=["bench"] if i % 3 == 0 else [], **common,
            ),
        ]  # fmt: skip
    return rules


async def create_rules(dsn: str, project_id: int, n: int, url: str) -> None:
    """``n`` enabled rules of each kind on the project, all sending to ``url``."""
    pool = await create_pool(dsn, max_size=1)
    try:
        async with pool.acquire() as conn:
            channel = await store.create_channel(
                conn,
                project_id,
                name="bench",
                kind="webhook",
                target=url,
                secret=secrets.token_hex(8),
            )
            for fields in _rules(n, channel.id):
                await store.create_rule(conn, project_id, fields)
    finally:
        await pool.close()


async def drop_rules(dsn: str, project_id: int) -> int:
    """Delete the project's rules (the next run measures without them); returns notifications."""
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("DELETE FROM alert_rules WHERE project_id = $1", project_id)
        return await conn.fetchval(
            "SELECT count(*) FROM alert_notifications WHERE project_id = $1", project_id
        )
    finally:
        await conn.close()
