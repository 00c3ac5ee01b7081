"""Property-based fuzzing of the JSON query API from its own OpenAPI schema (schemathesis):
never a 5xx, and never a change to another team's project."""

from __future__ import annotations

import httpx
import pytest
from fuzz_support import TwoTeams, fuzz_settings, snapshot, two_teams
from hostile_support import Server
from hypothesis import given
from hypothesis import strategies as st

schemathesis = pytest.importorskip("schemathesis")

#: Examples per operation: with ~30 operations this keeps the test near a minute.
EXAMPLES = 12


def test_no_operation_answers_5xx_or_touches_another_project(server: Server) -> None:
    """Every operation, fed generated (valid and invalid) input with a member-of-A token,
    answers below 500 and leaves project B exactly as it was."""
    teams: TwoTeams = two_teams(server.dsn)
    before = snapshot(server.dsn, teams.project_b)
    raw = httpx.get(f"{server.url}/openapi.json", timeout=30).json()
    schema = schemathesis.openapi.from_dict(raw)
    headers = {"Authorization": f"Bearer {teams.token_a}"}
    failures: list[str] = []
    # Revoking tokens last: once the fuzzer's own token is hit, every later call is a 401.
    operations = sorted(
        (result.ok() for result in schema.get_all_operations()),
        key=lambda op: op.label.startswith("DELETE /api/v1/tokens"),
    )
    assert len(operations) >= 10
    for operation in operations:

        @fuzz_settings(EXAMPLES)
        @given(
            case=operation.as_strategy(),
            project=st.sampled_from([teams.project_b, teams.project_a]),
        )
        def fuzz(case, project: int) -> None:
            for name in ("project_id", "id"):
                if case.path_parameters and name in case.path_parameters:
                    case.path_parameters[name] = project  # aim at B as often as at A
            response = case.call(base_url=server.url, headers=headers, timeout=30)
            if response.status_code >= 500:
                failures.append(f"{case.method} {case.formatted_path} -> {response.status_code}")

        fuzz()
    assert not failures, failures[:20]
    assert snapshot(server.dsn, teams.project_b) == before
