"""The digest with structured exceptions, custom fingerprints and merged issues."""

from __future__ import annotations

import importlib
import secrets
from typing import Any

import asyncpg
import orjson
import pytest
from test_digest import NOW, error

from tracehub.entry import ENTRY_KEYS
from tracehub_server.queue.messages import IngestBatch, decode
from tracehub_server.storage import issue_merge
from tracehub_server.storage.projects import create_project
from tracehub_server.worker.digest import digest

# The module (the package exports its ``fingerprint`` function under the same name).
fingerprint_module = importlib.import_module("tracehub_server.grouping.fingerprint")

STRUCTURE = {
    "values": [
        {
            "type": "ZeroDivisionError",
            "module": None,
            "value": "division by zero",
            "mechanism": {
                "exception_id": 0,
                "parent_id": None,
                "source": None,
                "is_exception_group": False,
            },
            "stacktrace": {"frames": [{"filename": "shop/pricing.py", "function": "f",
                                       "lineno": 17, "in_app": True, "module": "shop.pricing"}]},
        }
    ]
}  # fmt: skip


async def _project(pool: asyncpg.Pool) -> int:
    async with pool.acquire() as conn:
        return (await create_project(conn, f"p-{secrets.token_hex(4)}")).id


async def _issues(pool: asyncpg.Pool, project_id: int, entries: list[dict[str, Any]]) -> list[int]:
    await digest(pool, [IngestBatch(project_id, entries)], now=lambda: NOW)
    async with pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT event_id, issue_id FROM logs WHERE project_id = $1", project_id
        )
    by_event = {row["event_id"].hex: row["issue_id"] for row in rows}
    return [by_event[e["event_id"]] for e in entries]


async def test_structure_and_fingerprint_are_stored(pool: asyncpg.Pool) -> None:
    """``exception`` and ``fingerprint`` land in their columns, on the lean and general paths."""
    project = await _project(pool)
    lean = error(exception=STRUCTURE, fingerprint=["a"])
    general = error(exception=STRUCTURE, fingerprint=["a"], message="n\x00ul")
    await _issues(pool, project, [lean, general])
    async with pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT exception::text, fingerprint::text FROM logs WHERE project_id = $1", project
        )
    assert len(rows) == 2
    for row in rows:
        assert orjson.loads(row[0]) == STRUCTURE
        assert orjson.loads(row[1]) == ["a"]


async def test_custom_fingerprints_group_across_traces(pool: asyncpg.Pool) -> None:
    """Equal custom fingerprints group different traces; different ones split equal traces;
    ``{{ default }}`` adds the default fingerprint to the custom parts."""
    project = await _project(pool)
    issues = await _issues(
        pool,
        project,
        [
            error("pricing", fingerprint=["gateway", "timeout"]),
            error("tax", fingerprint=["gateway", "timeout"]),
            error("pricing", fingerprint=["other"]),
            error("pricing"),
            error("pricing", fingerprint=["gateway", "{{ default }}"]),
            error("tax", fingerprint=["gateway", "{{default}}"]),
        ],
    )
    assert issues[0] == issues[1]
    assert len(set(issues)) == 5


async def test_a_merged_fingerprint_routes_to_the_target(pool: asyncpg.Pool) -> None:
    """After a merge, new events of the source's fingerprint count into the target; after
    an unmerge, into the source again."""
    project = await _project(pool)
    target, source = await _issues(pool, project, [error("pricing"), error("tax")])
    async with pool.acquire() as conn:
        await issue_merge.merge_issues(conn, project, target, [source])
    [routed] = await _issues(pool, project, [error("tax")])
    assert routed == target
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT event_count FROM issues WHERE id = $1", target) == 3
        await issue_merge.unmerge_issue(conn, project, source)
    [back] = await _issues(pool, project, [error("tax")])
    assert back == source


async def test_value_arrays_of_another_length_are_counted_invalid(pool: asyncpg.Pool) -> None:
    """An entry array shorter than ENTRY_KEYS (no older layout is read) stores nothing."""
    project = await _project(pool)
    short = [error()[key] for key in ENTRY_KEYS[:-2]]
    message = orjson.dumps({"v": 3, "batches": [{"project_id": project, "entries": [short]}]})
    [batch] = decode(message)
    result = await digest(pool, [batch], now=lambda: NOW)
    assert (result.inserted, result.invalid) == (0, 1)


async def test_a_new_algorithm_never_splits_an_existing_issue(
    pool: asyncpg.Pool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An event whose fingerprint under a replaced algorithm names an issue goes to it, and
    its new fingerprint becomes an alias (later events resolve directly)."""
    project = await _project(pool)

    def old_algorithm(project_id: int, etype: Any, message: Any, trace: Any, custom: Any) -> str:
        return f"old-{project_id}-{etype}"

    async with pool.acquire() as conn:
        existing = await conn.fetchval(
            "INSERT INTO issues (project_id, fingerprint, title, level, first_seen, last_seen,"
            " grouping_version) VALUES ($1, $2, 'old issue', 'ERROR', now(), now(), 'th0')"
            " RETURNING id",
            project,
            f"old-{project}-ZeroDivisionError",
        )
    monkeypatch.setitem(fingerprint_module.PREVIOUS_ALGORITHMS, "th0", old_algorithm)
    first = await _issues(pool, project, [error("pricing")])
    monkeypatch.delitem(fingerprint_module.PREVIOUS_ALGORITHMS, "th0")
    second = await _issues(pool, project, [error("pricing")])
    assert first == second == [existing]
    async with pool.acquire() as conn:
        listed = await conn.fetchval(
            "SELECT count(*) FROM issues WHERE project_id = $1 AND merged_into IS NULL", project
        )
        count = await conn.fetchval("SELECT event_count FROM issues WHERE id = $1", existing)
    assert (listed, count) == (1, 2)


_TASK_GROUP = (
    "  + Exception Group Traceback (most recent call last):\n"
    '  |   File "/srv/app/{site}.py", line 40, in handle\n'
    "  |     async with asyncio.TaskGroup() as tg:\n"
    "  | ExceptionGroup: unhandled errors in a TaskGroup (1 sub-exception)\n"
    "  +-+---------------- 1 ----------------\n"
    "    | Traceback (most recent call last):\n"
    '    |   File "/srv/app/users.py", line 8, in fetch_user\n'
    "    |     raise KeyError(uid)\n"
    "    | KeyError: 'u1'\n"
    "    +------------------------------------\n"
)


def _group_error(site: str) -> dict[str, Any]:
    return error(
        error_type="ExceptionGroup",
        error_message="unhandled errors in a TaskGroup (1 sub-exception)",
        stack_trace=_TASK_GROUP.format(site=site),
    )


async def test_task_groups_of_two_sites_are_two_issues_and_a_th1_issue_keeps_its_events(
    pool: asyncpg.Pool,
) -> None:
    """th2 reads exception groups: two call sites are two issues. An issue th1 made for
    them (by the group's message) still gets its events, through the th1 fallback."""
    project = await _project(pool)
    checkout, profile = await _issues(
        pool, project, [_group_error("checkout"), _group_error("profile")]
    )
    assert checkout != profile
    other = await _project(pool)
    th1 = fingerprint_module.PREVIOUS_ALGORITHMS["th1"]
    entry = _group_error("checkout")
    async with pool.acquire() as conn:
        existing = await conn.fetchval(
            "INSERT INTO issues (project_id, fingerprint, title, level, first_seen, last_seen,"
            " grouping_version) VALUES ($1, $2, 'ExceptionGroup', 'ERROR', now(), now(), 'th1')"
            " RETURNING id",
            other,
            th1(other, entry["error_type"], entry["error_message"], entry["stack_trace"], None),
        )
    assert await _issues(pool, other, [entry, _group_error("profile")]) == [existing, existing]
