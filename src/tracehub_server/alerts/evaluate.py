"""The windowed rules: issue frequency and log volume, checked on a timer.

One evaluation runs at a time (advisory lock). For each enabled rule it counts over the
window ending now -- frequency through ``logs_issue_idx`` per recently seen issue, volume
through ``logs_project_time_idx`` with the logs explorer's filters -- and each count
stops at the rule's threshold, so a filter that matches often costs few rows. What fires
is written as outbox triggers in the evaluation's transaction. A rule (or rule and issue) notified
within its interval, or still waiting in the outbox, is not queued again.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

import asyncpg

from tracehub_server.alerts.noise import RULE_LEVEL
from tracehub_server.storage import alert_outbox as outbox
from tracehub_server.storage import alerts as store
from tracehub_server.storage.alert_outbox import TriggerRow
from tracehub_server.storage.alerts import Rule
from tracehub_server.storage.log_filters import LEVELS, LogFilter
from tracehub_server.web_params import parse_log_filter

logger = logging.getLogger(__name__)


def levels_at_or_above(level: str) -> list[str]:
    """``WARN`` -> ``[WARN, ERROR, FATAL]``."""
    return list(LEVELS[LEVELS.index(level) :])


def rule_filter(rule: Rule) -> LogFilter:
    """The rule's explorer filter, with its environment/service/level limits added."""
    params = [(k, v) for k, v in rule.query]
    params += [("level", v) for v in rule.levels]
    params += [("service", v) for v in rule.services]
    params += [("environment", v) for v in rule.environments]
    return parse_log_filter(params)


async def _fire(conn: asyncpg.Connection, rule: Rule, now: datetime) -> list[TriggerRow]:
    window = timedelta(minutes=rule.window_minutes or 5)
    threshold = rule.threshold or 1
    skip = await outbox.recently_notified(
        conn, rule.id, now - timedelta(minutes=rule.interval_minutes)
    )
    facts = {"threshold": threshold, "window_minutes": int(window.total_seconds() // 60)}
    if rule.kind == "frequency":
        return [
            TriggerRow(rule.id, rule.project_id, issue_id, "frequency", {**facts, "count": n})
            for issue_id, n in await outbox.frequent_issues(conn, rule, now - window, now)
            if issue_id not in skip
        ]
    if RULE_LEVEL in skip:
        return []
    # Counting stops at the threshold: "at least N" is what the rule asks, and it bounds
    # the rows read per evaluation.
    count = await outbox.count_matching_logs(
        conn, rule.project_id, rule_filter(rule), since=now - window, until=now, cap=threshold
    )
    if count < threshold:
        return []
    return [
        TriggerRow(
            rule.id,
            rule.project_id,
            None,
            "volume",
            {**facts, "count": count},
        )
    ]


async def evaluate(conn: asyncpg.Connection, now: datetime) -> int:
    """Check every windowed rule once; returns the triggers written (0 if another runs)."""
    async with conn.transaction():
        if not await outbox.try_lock(conn, outbox.EVALUATE_LOCK_ID):
            return 0
        rows: list[TriggerRow] = []
        for rule in await store.windowed_rules(conn):
            try:
                async with conn.transaction():
                    rows += await _fire(conn, rule, now)
            except (asyncpg.QueryCanceledError, ValueError) as exc:
                logger.warning("alert rule %d could not be evaluated: %s", rule.id, exc)
        await outbox.insert_triggers(conn, rows)
    return len(rows)
