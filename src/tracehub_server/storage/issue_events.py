"""One event of an issue with everything its page shows, and its older/newer neighbours.

Events are ordered by (timestamp, event_id), the order of ``logs_issue_idx``; each read is
bounded below by the issue's first event (minus a day of clock skew) and the retention, so
only the partitions that can hold the issue's events are scanned.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

import asyncpg
import orjson

from tracehub_server.storage.issue_queries import Issue

__all__ = ["IssueEvent", "event_neighbours", "issue_event"]

_COLUMNS = (
    'event_id, "timestamp", level, service, environment, host, module, message, trace_id,'
    " error_type, error_message, stack_trace, extra::text AS extra_json,"
    " exception::text AS exception_json, fingerprint::text AS fingerprint_json"
)


@dataclass(frozen=True, slots=True)
class IssueEvent:
    """An error event as the issue page shows it."""

    event_id: uuid.UUID
    timestamp: datetime
    level: str
    service: str
    environment: str
    host: str | None
    module: str | None
    message: str
    trace_id: str | None
    error_type: str | None
    error_message: str | None
    stack_trace: str | None
    extra: Any
    exception: dict[str, Any] | None
    fingerprint: list[str] | None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready fields."""
        out = {name: getattr(self, name) for name in self.__slots__}
        out["event_id"] = str(self.event_id)
        out["timestamp"] = self.timestamp.isoformat()
        return out


def _json(text: str | None) -> Any:
    return None if text is None else orjson.loads(text)


def _event(row: asyncpg.Record) -> IssueEvent:
    return IssueEvent(
        event_id=row["event_id"],
        timestamp=row["timestamp"],
        level=row["level"],
        service=row["service"],
        environment=row["environment"],
        host=row["host"],
        module=row["module"],
        message=row["message"],
        trace_id=row["trace_id"],
        error_type=row["error_type"],
        error_message=row["error_message"],
        stack_trace=row["stack_trace"],
        extra=_json(row["extra_json"]),
        exception=_json(row["exception_json"]),
        fingerprint=_json(row["fingerprint_json"]),
    )


def _since(issue: Issue, retention_days: int) -> datetime:
    return max(
        issue.first_seen - timedelta(days=1),
        datetime.now(timezone.utc) - timedelta(days=retention_days + 1),
    )


async def issue_event(
    conn: asyncpg.Connection,
    issue: Issue,
    event_id: uuid.UUID | None,
    *,
    retention_days: int,
    oldest: bool = False,
) -> IssueEvent | None:
    """The issue's event ``event_id``, or without one its newest (``oldest``: its first)."""
    order = "ASC" if oldest else "DESC"
    row = await conn.fetchrow(
        f"SELECT {_COLUMNS} FROM logs"  # noqa: S608 - constant columns and order
        ' WHERE issue_id = $1 AND project_id = $2 AND "timestamp" >= $3'
        " AND ($4::uuid IS NULL OR event_id = $4)"
        f' ORDER BY "timestamp" {order}, event_id {order} LIMIT 1',
        issue.id,
        issue.project_id,
        _since(issue, retention_days),
        event_id,
    )
    return _event(row) if row else None


async def event_neighbours(
    conn: asyncpg.Connection, issue: Issue, event: IssueEvent, *, retention_days: int
) -> tuple[uuid.UUID | None, uuid.UUID | None]:
    """The ids of the issue's events just older and just newer than ``event``."""
    row = await conn.fetchrow(
        """
        SELECT
          (SELECT event_id FROM logs
            WHERE issue_id = $1 AND project_id = $2 AND "timestamp" >= $3
              AND ("timestamp", event_id) < ($4, $5)
            ORDER BY "timestamp" DESC, event_id DESC LIMIT 1) AS older,
          (SELECT event_id FROM logs
            WHERE issue_id = $1 AND project_id = $2 AND "timestamp" >= $3
              AND ("timestamp", event_id) > ($4, $5)
            ORDER BY "timestamp", event_id LIMIT 1) AS newer
        """,
        issue.id,
        issue.project_id,
        _since(issue, retention_days),
        event.timestamp,
        event.event_id,
    )
    return row["older"], row["newer"]
