"""Noise control: which triggers become messages, which fold into a digest, which are dropped.

Pure decisions (no I/O), applied by the planner under its lock:

* a trigger whose rule is disabled or whose filters (environment, service, level) do not
  match the issue is dropped;
* a muted issue, or one snoozed until later, is dropped;
* at most one message per (rule, issue) per ``rule.interval_minutes`` -- for log-volume
  rules, per rule (issue key 0);
* a project sends at most ``hourly_cap`` messages per clock hour; the triggers past it are
  folded and go out together as one digest ("and 37 more new issues") at most every
  ``digest_minutes``.

So a deploy that creates 5,000 issues sends ``hourly_cap`` messages and one digest per
channel, not 5,000.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from tracehub_server.storage.alert_outbox import Budget
from tracehub_server.storage.alerts import Rule

#: The issue key of rule-level (log-volume) triggers in ``alert_rule_state``.
RULE_LEVEL = 0


@dataclass(frozen=True, slots=True)
class Trigger:
    """One outbox row as the planner sees it."""

    id: int
    rule_id: int
    project_id: int
    issue_id: int | None
    kind: str
    facts: dict[str, Any] | None
    folded: bool

    @property
    def key(self) -> tuple[int, int]:
        return (self.rule_id, self.issue_id or RULE_LEVEL)


@dataclass(slots=True)
class Decision:
    """What to do with each trigger of one planning run."""

    send: list[Trigger] = field(default_factory=list)
    fold: list[Trigger] = field(default_factory=list)
    drop: list[Trigger] = field(default_factory=list)
    #: Per project: folded triggers (older and new) to go out now as one digest.
    digests: dict[int, list[Trigger]] = field(default_factory=dict)


def matches(rule: Rule, issue: Mapping[str, Any]) -> bool:
    """The rule's environment, service and level filters accept the issue."""
    return (
        (not rule.environments or issue["environment"] in rule.environments)
        and (not rule.services or issue["service"] in rule.services)
        and (not rule.levels or issue["level"] in rule.levels)
    )


def _wanted(
    trigger: Trigger,
    rule: Rule | None,
    issue: Mapping[str, Any] | None,
    last: datetime | None,
    now: datetime,
) -> bool:
    if rule is None or not rule.enabled:
        return False
    if trigger.issue_id is not None and (
        issue is None or issue["muted"] or not matches(rule, issue)
    ):
        return False
    return last is None or last <= now - timedelta(minutes=rule.interval_minutes)


def decide(
    triggers: list[Trigger],
    *,
    rules: Mapping[int, Rule],
    issues: Mapping[int, Mapping[str, Any]],
    last_notified: Mapping[tuple[int, int], datetime],
    budgets: Mapping[int, Budget],
    hourly_cap: int,
    digest_minutes: float,
    now: datetime,
) -> Decision:
    """Sort ``triggers`` (oldest first) into send / fold / drop, and the digests due now.

    ``budgets`` are updated in place (messages counted, digest time set).
    """
    decision = Decision()
    seen: set[tuple[int, int]] = set()
    held: dict[int, list[Trigger]] = {}
    for trigger in triggers:
        if trigger.folded:
            held.setdefault(trigger.project_id, []).append(trigger)
            continue
        issue = issues.get(trigger.issue_id) if trigger.issue_id is not None else None
        rule = rules.get(trigger.rule_id)
        if trigger.key in seen or not _wanted(
            trigger, rule, issue, last_notified.get(trigger.key), now
        ):
            decision.drop.append(trigger)
            continue
        seen.add(trigger.key)
        budget = budgets[trigger.project_id]
        if budget.messages < hourly_cap:
            budget.messages += 1
            decision.send.append(trigger)
        else:
            decision.fold.append(trigger)
            held.setdefault(trigger.project_id, []).append(trigger)
    due_after = now - timedelta(minutes=digest_minutes)
    for project_id, folded in held.items():
        budget = budgets[project_id]
        if budget.last_digest_at is None or budget.last_digest_at <= due_after:
            budget.last_digest_at = now
            decision.digests[project_id] = folded
    return decision
