"""The planner: outbox triggers become notifications, one per channel of the rule.

One planner runs at a time (a transaction-scoped advisory lock; the others skip the run),
and everything it does -- notifications written, triggers deleted or folded, per-issue
state and hourly budgets updated -- commits in one transaction, so a crash leaves the
triggers to the next run and never produces half a plan.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import asyncpg

from tracehub_server.alerts import noise, payload
from tracehub_server.alerts.noise import Trigger
from tracehub_server.storage import alert_outbox as outbox
from tracehub_server.storage import alerts as store
from tracehub_server.storage.alert_outbox import NewNotification
from tracehub_server.storage.alerts import Channel, Rule

logger = logging.getLogger(__name__)

#: Triggers one run takes at most (a burst is planned over a few runs).
MAX_TRIGGERS_PER_RUN = 20_000


@dataclass(frozen=True, slots=True)
class PlanOptions:
    hourly_cap: int = 20
    digest_minutes: float = 10.0
    deadline: timedelta = timedelta(hours=24)
    public_url: str | None = None


def _trigger(row: asyncpg.Record) -> Trigger:
    return Trigger(
        id=row["id"],
        rule_id=row["rule_id"],
        project_id=row["project_id"],
        issue_id=row["issue_id"],
        kind=row["kind"],
        facts=row["facts"],
        folded=row["folded"],
    )


class _Builder:
    """Payloads for one run: knows the projects, rules and issues loaded for it."""

    def __init__(
        self,
        *,
        names: Mapping[int, str],
        rules: Mapping[int, Rule],
        issues: Mapping[int, Mapping[str, Any]],
        links: payload.Links,
        now: datetime,
    ) -> None:
        self.names, self.rules, self.issues, self.links, self.now = names, rules, issues, links, now

    def single(self, trigger: Trigger) -> dict[str, Any]:
        rule = self.rules[trigger.rule_id]
        name = self.names.get(trigger.project_id, "?")
        project = (trigger.project_id, name)
        facts = trigger.facts or {}
        if trigger.issue_id is not None:
            issue = self.issues[trigger.issue_id]
            doc = payload.base(
                trigger.kind,
                project=project,
                rule=(rule.id, rule.name),
                now=self.now,
                title=payload.issue_title(trigger.kind, name, issue["title"]),
                url=self.links.issue(trigger.project_id, trigger.issue_id),
            )
            doc["issue"] = payload.issue_facts(issue, self.links)
            if facts:
                doc["query"] = {**facts, "url": doc["url"]}
            return doc
        url = self.links.logs(trigger.project_id, rule.query)
        doc = payload.base(
            trigger.kind,
            project=project,
            rule=(rule.id, rule.name),
            now=self.now,
            title=f"Log volume in {name}: {rule.name}",
            url=url,
        )
        doc["query"] = {**facts, "params": rule.query, "url": url}
        return doc

    def digest(self, project_id: int, folded: list[Trigger]) -> dict[str, Any]:
        name = self.names.get(project_id, "?")
        by_kind: dict[str, int] = {}
        for t in folded:
            by_kind[t.kind] = by_kind.get(t.kind, 0) + 1
        listed = [t for t in folded if t.issue_id in self.issues][: payload.MAX_DIGEST_ISSUES]
        doc = payload.base(
            "digest",
            project=(project_id, name),
            rule=None,
            now=self.now,
            title=f"TraceHub in {name}: and {len(folded)} more ({payload.digest_summary(by_kind)})",
            url=self.links.issues(project_id),
        )
        doc["digest"] = {
            "total": len(folded),
            "by_kind": by_kind,
            "issues": [
                {
                    "id": t.issue_id,
                    "title": self.issues[t.issue_id]["title"],  # type: ignore[index]
                    "url": self.links.issue(project_id, t.issue_id),  # type: ignore[arg-type]
                }
                for t in listed
            ],
            "more": len(folded) - len(listed),
        }
        return doc


async def plan(conn: asyncpg.Connection, options: PlanOptions, now: datetime) -> int:
    """One planning run; returns the notifications created (0 when another planner runs)."""
    async with conn.transaction():
        if not await outbox.try_lock(conn):
            return 0
        rows = await outbox.pending_triggers(conn, MAX_TRIGGERS_PER_RUN)
        due = now - timedelta(minutes=options.digest_minutes)
        rows += await outbox.due_folded(conn, due, MAX_TRIGGERS_PER_RUN)
        if not rows:
            return 0
        triggers = [_trigger(r) for r in rows]
        rules = await store.rules_by_id(conn, sorted({t.rule_id for t in triggers}))
        issue_ids = {t.issue_id for t in triggers if t.issue_id is not None}
        issues = await outbox.issue_facts(conn, sorted(issue_ids), now)
        last = await outbox.last_notified(conn, sorted({t.key for t in triggers}))
        project_ids = sorted({t.project_id for t in triggers})
        hour = now.replace(minute=0, second=0, microsecond=0)
        budgets = await outbox.load_budgets(conn, project_ids, hour)
        decision = noise.decide(
            triggers,
            rules=rules,
            issues=issues,
            last_notified=last,
            budgets=budgets,
            hourly_cap=options.hourly_cap,
            digest_minutes=options.digest_minutes,
            now=now,
        )
        channel_ids = {c for r in rules.values() for c in r.channel_ids}
        channels = await store.channels_by_id(conn, sorted(channel_ids))
        builder = _Builder(
            names=await outbox.project_names(conn, project_ids),
            rules=rules,
            issues=issues,
            links=payload.Links(options.public_url),
            now=now,
        )
        notes = _notifications(decision, builder, channels, options, now)
        await outbox.insert_notifications(conn, notes, now)
        await outbox.mark_notified(
            conn, sorted({t.key for t in decision.send + decision.fold}), now
        )
        in_digest = [t.id for group in decision.digests.values() for t in group]
        await outbox.delete_triggers(
            conn, [t.id for t in decision.send + decision.drop] + in_digest
        )
        in_digest_set = set(in_digest)
        await outbox.fold_triggers(conn, [t.id for t in decision.fold if t.id not in in_digest_set])
        await outbox.save_budgets(conn, budgets)
    if notes:
        logger.info(
            "alerts planned: %d notifications (%d folded, %d dropped)",
            len(notes),
            len(decision.fold),
            len(decision.drop),
        )
    return len(notes)


def _notifications(
    decision: noise.Decision,
    builder: _Builder,
    channels: Mapping[int, Channel],
    options: PlanOptions,
    now: datetime,
) -> list[NewNotification]:
    deadline = now + options.deadline
    notes: list[NewNotification] = []
    for trigger in decision.send:
        rule = builder.rules[trigger.rule_id]
        doc = builder.single(trigger)
        for channel_id in rule.channel_ids:
            channel = channels.get(channel_id)
            if channel is not None:
                notes.append(
                    NewNotification(
                        project_id=trigger.project_id,
                        rule_id=rule.id,
                        channel=channel,
                        kind=trigger.kind,
                        payload=doc,
                        deadline=deadline,
                    )
                )
    for project_id, folded in decision.digests.items():
        doc = builder.digest(project_id, folded)
        targets = sorted(
            {
                c
                for t in folded
                if t.rule_id in builder.rules
                for c in builder.rules[t.rule_id].channel_ids
            }
        )
        for channel_id in targets:
            channel = channels.get(channel_id)
            if channel is not None:
                notes.append(
                    NewNotification(
                        project_id=project_id,
                        rule_id=None,
                        channel=channel,
                        kind="digest",
                        payload=doc,
                        deadline=deadline,
                    )
                )
    return notes
