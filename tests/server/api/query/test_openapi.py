"""``/openapi.json`` documents every JSON route's response shape, and the shapes match."""

from __future__ import annotations

import dataclasses

import httpx
import pytest
from query_api_support import World

from tracehub_server.api.query import schemas
from tracehub_server.storage.issue_queries import Issue
from tracehub_server.storage.log_queries import LogEntry

_BODYLESS = {"204"}


@pytest.fixture
async def spec(client: httpx.AsyncClient) -> dict:
    resp = await client.get("/openapi.json")
    assert resp.status_code == 200
    return resp.json()


def _resolve(spec: dict, schema: dict) -> dict:
    if "$ref" in schema:
        return spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    if schema.get("type") == "array":
        return _resolve(spec, schema["items"])
    return schema


async def test_every_query_route_documents_a_typed_success_answer(spec: dict) -> None:
    """Each /api/v1 operation's 2xx answer is a named object (or a list of one)."""
    checked = 0
    for path, operations in spec["paths"].items():
        if not path.startswith("/api/v1/"):
            continue
        for method, op in operations.items():
            ok = {c: r for c, r in op["responses"].items() if c.startswith("2")}
            assert ok, f"{method.upper()} {path} documents no success answer"
            for code, answer in ok.items():
                if code in _BODYLESS:
                    continue
                schema = answer["content"]["application/json"]["schema"]
                target = _resolve(spec, schema)
                assert target.get("properties"), f"{method.upper()} {path} {code}: {schema}"
                checked += 1
    assert checked >= 20


async def test_logs_route_documents_its_page_and_errors(spec: dict) -> None:
    """GET /logs: the page shape (cursor, scanned_until), the log fields, and 401/404/503."""
    op = spec["paths"]["/api/v1/logs"]["get"]
    page = _resolve(spec, op["responses"]["200"]["content"]["application/json"]["schema"])
    assert {"logs", "next_cursor", "since", "until", "scanned_until"} <= set(page["properties"])
    log = _resolve(spec, page["properties"]["logs"])
    assert {"id", "timestamp", "message", "extra", "has_stack_trace"} <= set(log["properties"])
    assert log["properties"]["timestamp"]["format"] == "date-time"
    assert {"401", "404", "422", "503"} <= set(op["responses"])
    detail = spec["paths"]["/api/v1/logs/{log_id}"]["get"]["responses"]["200"]
    assert (
        "stack_trace"
        in _resolve(spec, detail["content"]["application/json"]["schema"])["properties"]
    )
    rename = spec["paths"]["/api/v1/projects/{project_id}"]["patch"]["responses"]
    assert {"200", "403", "409"} <= set(rename)


def test_models_name_every_field_storage_returns() -> None:
    """No field is dropped by a response model: the models and ``as_dict`` keys agree."""
    log_fields = {f.name for f in dataclasses.fields(LogEntry)} - {"event_id"} | {"id"}
    assert set(schemas.LogDetail.model_fields) == log_fields
    assert set(schemas.LogSummary.model_fields) == log_fields - {"stack_trace"}
    assert set(schemas.IssueOut.model_fields) == set(Issue.__slots__)


async def test_answers_validate_against_their_documented_models(
    client: httpx.AsyncClient, world: World
) -> None:
    """Real answers (logs, log, issue, stats, projects, me) parse as their models."""
    h = world.member.bearer
    pairs = [
        (f"/api/v1/logs?project={world.a}&since=2d", schemas.LogList),
        (f"/api/v1/logs/{world.logs['error']}", schemas.LogDetail),
        (f"/api/v1/issues/{world.issues['crash']}", schemas.IssueDetail),
        (f"/api/v1/stats/timeline?project={world.a}", schemas.TimelineOut),
        ("/api/v1/auth/me", schemas.MeOut),
    ]
    for url, model in pairs:
        resp = await client.get(url, headers=h)
        assert resp.status_code == 200, url
        parsed = model.model_validate(resp.json())
        assert parsed.model_dump(mode="json") == resp.json()
