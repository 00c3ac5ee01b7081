"""``tracehub demo``'s week: real exception types, a regression, traces across services."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timezone

from tracehub_server.cli.demo_data import build_week

NOW = datetime(2026, 12, 6, 1, 30, tzinfo=timezone.utc)


def test_week_has_errors_a_regression_and_shared_traces() -> None:
    """Several exception types, the regressing one on both sides of its fix, and traces
    that span at least two services."""
    week = build_week(NOW)
    entries = week.before_fix + week.after_fix
    types = Counter(e.get("error_type") for e in entries if e.get("error_type"))
    assert len(types) >= 5
    assert any(e.get("error_type") == week.regression for e in week.before_fix)
    assert any(e.get("error_type") == week.regression for e in week.after_fix)
    services_by_trace: dict[str, set[str]] = {}
    for e in entries:
        if e["trace_id"]:
            services_by_trace.setdefault(e["trace_id"], set()).add(e["service"])
    assert sum(len(s) >= 3 for s in services_by_trace.values()) >= 50
    assert all({"user_id", "region"} <= e["extra"].keys() for e in entries if e["trace_id"])
    assert min(e["timestamp"] for e in entries) >= "2026-11-29"
    assert max(e["timestamp"] for e in entries) < NOW.isoformat()
