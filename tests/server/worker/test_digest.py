"""The digest against the real PostgreSQL: exactly-once, concurrency, rollback, regressions."""

from __future__ import annotations

import asyncio
import random
import secrets
from datetime import datetime, timedelta, timezone
from typing import Any

import asyncpg
import pytest

from tracehub_server.queue.messages import IngestBatch, decode, encode_entries, encode_group
from tracehub_server.storage.partitions import (
    day_of,
    drop_expired_partitions,
    ensure_partitions,
    list_partitions,
)
from tracehub_server.storage.projects import Project, create_project
from tracehub_server.worker.digest import DigestResult, digest, prepare_lean

NOW = datetime.now(timezone.utc).replace(microsecond=0)

PY_TRACE = """Traceback (most recent call last):
  File "/srv/app/.venv/lib/python3.11/site-packages/flask/app.py", line 1484, in dispatch
    rv = self.dispatch_request()
  File "/srv/app/shop/views.py", line {line}, in checkout
    total = compute_total(cart)
  File "/srv/app/shop/{module}.py", line 17, in compute_total
    return sum(item.price for item in cart.items) / cart.count
ZeroDivisionError: division by zero
"""


def _trace(module: str = "pricing", line: int = 40) -> str:
    return PY_TRACE.format(module=module, line=line)


def entry(**fields: Any) -> dict[str, Any]:
    """A validated entry as the API produces it."""
    base: dict[str, Any] = {
        "event_id": secrets.token_hex(16),
        "timestamp": NOW.isoformat(),
        "received_at": NOW.isoformat(),
        "level": "INFO",
        "service": "shop",
        "environment": "test",
        "message": "hello",
        "host": "h1",
        "pid": 4242,
        "thread_id": "MainThread",
        "sdk_version": "0.1.0",
        "module": "shop.views",
        "trace_id": None,
        "error_type": None,
        "error_message": None,
        "stack_trace": None,
        "extra": {"k": 1},
        "original_timestamp": None,
        "exception": None,
        "fingerprint": None,
    }
    base.update(fields)
    return base


def error(module: str = "pricing", **fields: Any) -> dict[str, Any]:
    """An ERROR entry whose traceback raises in ``module``."""
    base = {
        "level": "ERROR",
        "message": "checkout failed",
        "error_type": "ZeroDivisionError",
        "error_message": "division by zero",
        "stack_trace": _trace(module, random.randint(10, 99)),
    }
    base.update(fields)
    return entry(**base)


async def _state(pool: asyncpg.Pool, project_id: int) -> dict[str, Any]:
    """Everything the digest writes for a project, for before/after comparisons."""
    async with pool.acquire() as conn:
        logs = await conn.fetch(
            "SELECT event_id, issue_id, level FROM logs WHERE project_id = $1 ORDER BY event_id",
            project_id,
        )
        issues = await conn.fetch(
            "SELECT id, fingerprint, event_count, first_seen, last_seen, status, level"
            " FROM issues WHERE project_id = $1 ORDER BY id",
            project_id,
        )
        hourly = await conn.fetch(
            "SELECT hour, level, service, environment, count FROM hourly_counts"
            " WHERE project_id = $1 ORDER BY 1, 2, 3, 4",
            project_id,
        )
        issue_hourly = await conn.fetch(
            "SELECT c.issue_id, c.hour, c.count FROM issue_hourly_counts c"
            " JOIN issues i ON i.id = c.issue_id WHERE i.project_id = $1 ORDER BY 1, 2",
            project_id,
        )
    return {
        "logs": [tuple(r) for r in logs],
        "issues": [tuple(r) for r in issues],
        "hourly": [tuple(r) for r in hourly],
        "issue_hourly": [tuple(r) for r in issue_hourly],
    }


async def test_digest_stores_rows_counts_and_issues(pool: asyncpg.Pool, project: Project) -> None:
    """Rows land in logs, errors group into one issue linked from its rows, counts add up."""
    entries = [entry() for _ in range(5)] + [error() for _ in range(3)] + [entry(level="WARN")]
    result = await digest(pool, [IngestBatch(project.id, entries)])
    assert result == DigestResult(inserted=9, issues_created=1)
    state = await _state(pool, project.id)
    assert len(state["logs"]) == 9
    (issue,) = state["issues"]
    assert issue[2] == 3
    assert sorted(r[1] for r in state["logs"] if r[2] == "ERROR") == [issue[0]] * 3
    assert {(r[1], r[4]) for r in state["hourly"]} == {("INFO", 5), ("ERROR", 3), ("WARN", 1)}
    hour = NOW.replace(minute=0, second=0)
    assert state["hourly"][0][0] == hour
    assert state["issue_hourly"] == [(issue[0], hour, 3)]


async def test_issue_row_has_title_sample_and_highest_level(
    pool: asyncpg.Pool, project: Project
) -> None:
    """The issue keeps a title, a sample trace and event, its service, and FATAL wins."""
    first = error(timestamp=(NOW - timedelta(minutes=5)).isoformat())
    later = error(level="FATAL", timestamp=NOW.isoformat())
    await digest(pool, [IngestBatch(project.id, [first])])
    await digest(pool, [IngestBatch(project.id, [later])])
    async with pool.acquire() as conn:
        row = await conn.fetchrow("SELECT * FROM issues WHERE project_id = $1", project.id)
    assert row["title"] == "ZeroDivisionError: division by zero"
    assert row["level"] == "FATAL"
    assert row["event_count"] == 2
    assert row["first_seen"] == NOW - timedelta(minutes=5)
    assert row["last_seen"] == NOW
    assert row["sample_event_id"].hex == first["event_id"]
    assert "compute_total" in row["sample_stack_trace"]
    assert row["service"] == "shop"
    assert row["status"] == "OPEN"


async def test_redelivered_batch_changes_nothing(pool: asyncpg.Pool, project: Project) -> None:
    """The same batch digested twice stores and counts each event once."""
    batch = IngestBatch(project.id, [entry() for _ in range(20)] + [error() for _ in range(7)])
    await digest(pool, [batch])
    before = await _state(pool, project.id)
    again = await digest(pool, [batch, batch])
    assert again.inserted == 0
    assert again.duplicates == 54
    assert again.issues_created == again.issues_updated == 0
    assert await _state(pool, project.id) == before


async def test_duplicates_within_one_call_are_counted_once(
    pool: asyncpg.Pool, project: Project
) -> None:
    """An event repeated inside one digest call is stored and counted once."""
    one = error()
    result = await digest(
        pool, [IngestBatch(project.id, [one, one]), IngestBatch(project.id, [one])]
    )
    assert (result.inserted, result.duplicates) == (1, 2)
    state = await _state(pool, project.id)
    assert state["issues"][0][2] == 1


async def test_concurrent_digests_lose_nothing_and_never_deadlock(
    pool: asyncpg.Pool, project: Project
) -> None:
    """Eight concurrent digests over shared issues and shared events: exact counts, no deadlock."""
    modules = [f"mod{i}" for i in range(6)]
    shared = [error(m) for m in modules for _ in range(3)]  # delivered by every task
    per_task = [[error(random.choice(modules)) for _ in range(15)] for _ in range(8)]
    noise = [[entry() for _ in range(30)] for _ in range(8)]

    async def run(i: int) -> DigestResult:
        entries = shared + per_task[i] + noise[i]
        random.Random(i).shuffle(entries)
        if i % 2:
            entries.reverse()
        half = len(entries) // 2
        return await digest(
            pool, [IngestBatch(project.id, entries[:half]), IngestBatch(project.id, entries[half:])]
        )

    results = await asyncio.wait_for(asyncio.gather(*(run(i) for i in range(8))), timeout=120)
    assert sum(r.inserted for r in results) == len(shared) + 8 * 15 + 8 * 30
    assert sum(r.issues_created for r in results) == 6
    state = await _state(pool, project.id)
    issues = state["issues"]
    assert len(issues) == 6
    assert sum(i[2] for i in issues) == len(shared) + 8 * 15
    logs_per_issue: dict[int, int] = {}
    for _, issue_id, _ in state["logs"]:
        if issue_id is not None:
            logs_per_issue[issue_id] = logs_per_issue.get(issue_id, 0) + 1
    assert {i[0]: i[2] for i in issues} == logs_per_issue
    assert sum(r[2] for r in state["issue_hourly"]) == len(shared) + 8 * 15
    assert sum(r[4] for r in state["hourly"]) == len(shared) + 8 * 15 + 8 * 30


async def test_concurrent_redeliveries_of_one_batch_count_once(
    pool: asyncpg.Pool, project: Project
) -> None:
    """Six workers digesting the very same batch at once store and count it exactly once."""
    batch = IngestBatch(project.id, [error(f"m{i % 4}") for i in range(40)] + [entry()] * 1)
    results = await asyncio.wait_for(
        asyncio.gather(*(digest(pool, [batch]) for _ in range(6))), timeout=120
    )
    assert sum(r.inserted for r in results) == 41
    assert sum(r.issues_created for r in results) == 4
    state = await _state(pool, project.id)
    assert sum(i[2] for i in state["issues"]) == 40


async def test_failing_batch_rolls_back_everything(pool: asyncpg.Pool, project: Project) -> None:
    """When one batch of a call fails, none of the call's rows, counts or issues remain."""
    good = IngestBatch(project.id, [entry(), error()])
    orphan = IngestBatch(2**62, [entry(), error()])  # no such project: foreign keys fail
    with pytest.raises(asyncpg.ForeignKeyViolationError):
        await digest(pool, [good, orphan])
    state = await _state(pool, project.id)
    assert state == {"logs": [], "issues": [], "hourly": [], "issue_hourly": []}
    # The same good batch then goes through: nothing half-written blocks it.
    assert (await digest(pool, [good])).inserted == 2


async def test_resolved_issue_reopens_only_for_later_events(
    pool: asyncpg.Pool, project: Project
) -> None:
    """An event after resolved_at reopens as a regression; a late older event does not."""
    await digest(
        pool, [IngestBatch(project.id, [error(timestamp=(NOW - timedelta(hours=2)).isoformat())])]
    )
    resolved_at = NOW - timedelta(hours=1)
    async with pool.acquire() as conn:
        await conn.execute(
            "UPDATE issues SET status = 'RESOLVED', resolved_at = $2 WHERE project_id = $1",
            project.id,
            resolved_at,
        )
    late = await digest(
        pool,
        [IngestBatch(project.id, [error(timestamp=(NOW - timedelta(minutes=90)).isoformat())])],
    )
    assert late.regressions == 0
    state = await _state(pool, project.id)
    assert state["issues"][0][5] == "RESOLVED"
    again = await digest(pool, [IngestBatch(project.id, [error(timestamp=NOW.isoformat())])])
    assert again.regressions == 1
    async with pool.acquire() as conn:
        row = await conn.fetchrow(
            "SELECT status, is_regression, event_count FROM issues WHERE project_id = $1",
            project.id,
        )
    assert tuple(row) == ("OPEN", True, 3)


async def test_ignored_issue_counts_but_stays_ignored(pool: asyncpg.Pool, project: Project) -> None:
    """New events of an IGNORED issue are counted without changing its status."""
    await digest(pool, [IngestBatch(project.id, [error()])])
    async with pool.acquire() as conn:
        await conn.execute("UPDATE issues SET status = 'IGNORED' WHERE project_id = $1", project.id)
    await digest(pool, [IngestBatch(project.id, [error()])])
    state = await _state(pool, project.id)
    assert (state["issues"][0][2], state["issues"][0][5]) == (2, "IGNORED")


@pytest.mark.parametrize(
    "when",
    [
        datetime(1999, 12, 31, 23, 59, tzinfo=timezone.utc),
        datetime(2090, 6, 1, tzinfo=timezone.utc),
    ],
)
async def test_old_and_future_timestamps_get_partitions_on_demand(
    pool: asyncpg.Pool, project: Project, when: datetime
) -> None:
    """An entry in an old year or the far future is stored; its partition is made on demand."""
    result = await digest(
        pool,
        [
            IngestBatch(
                project.id, [entry(timestamp=when.isoformat()), error(timestamp=when.isoformat())]
            )
        ],
    )
    assert result.inserted == 2
    async with pool.acquire() as conn:
        assert day_of(when) in await list_partitions(conn)


async def test_partition_dropped_behind_the_cache_is_recreated(
    pool: asyncpg.Pool, project: Project
) -> None:
    """If retention elsewhere drops a cached day, the digest recreates it and still commits."""
    when = datetime(2011, 5, 5, 12, tzinfo=timezone.utc)
    async with pool.acquire() as conn:
        await ensure_partitions(conn, [day_of(when)])
        await conn.execute(f'DROP TABLE "logs_p{when:%Y%m%d}"')  # the cache still lists it
    result = await digest(pool, [IngestBatch(project.id, [entry(timestamp=when.isoformat())])])
    assert result.inserted == 1
    async with pool.acquire() as conn:
        await drop_expired_partitions(conn, 1, datetime(2011, 5, 20, tzinfo=timezone.utc))


async def test_hostile_field_values_are_stored_safely(pool: asyncpg.Pool, project: Project) -> None:
    """NUL bytes, lone surrogates, huge ints and odd extras never fail the batch."""
    hostile = [
        entry(message="nul\x00inside", service="s\x00", extra={"k": "v\x00"}),
        entry(message="surrogate \udcff here", host="\ud800"),
        entry(pid=2**40, thread_id=2**70, extra=[1, 2, 3]),
        entry(extra={1: "non-string key", "nested": {"deep": [None, True, 1.5]}}),
        entry(message="'; DROP TABLE logs; --", module="\u202e\u0301"),
        error(stack_trace="x" * 70_000, error_message="\x00" * 10),
    ]
    result = await digest(pool, [IngestBatch(project.id, hostile)])
    assert (result.inserted, result.invalid) == (6, 0)
    async with pool.acquire() as conn:
        messages = {
            r["message"]
            for r in await conn.fetch("SELECT message FROM logs WHERE project_id = $1", project.id)
        }
    assert "nul\ufffdinside" in messages
    assert "surrogate ? here" in messages


async def test_unstorable_entries_are_skipped_and_counted(
    pool: asyncpg.Pool, project: Project
) -> None:
    """Entries without a usable timestamp or level are counted invalid; the rest commit."""
    batch = IngestBatch(
        project.id,
        [
            entry(timestamp="not a time"),
            entry(level="LOUD"),
            entry(timestamp=None),
            "not even a dict",  # type: ignore[list-item]
            entry(level="warning"),
            entry(level="critical", event_id="NOT-HEX"),
        ],
    )
    result = await digest(pool, [batch])
    assert (result.inserted, result.invalid) == (2, 4)
    # The entry without a valid event_id got a deterministic one: redelivery is a duplicate.
    assert (await digest(pool, [batch])).duplicates == 2


async def test_empty_input_is_a_no_op(pool: asyncpg.Pool) -> None:
    """No batches, or batches without entries, write nothing and return zeros."""
    assert await digest(pool, []) == DigestResult()
    async with pool.acquire() as conn:
        project = await create_project(conn, f"empty-{secrets.token_hex(4)}")
    assert await digest(pool, [IngestBatch(project.id, [])]) == DigestResult()


async def test_injected_clock_fills_missing_received_at(
    pool: asyncpg.Pool, project: Project
) -> None:
    """received_at falls back to the digest's clock, which tests can inject."""
    fixed = datetime(2020, 2, 2, 2, 2, tzinfo=timezone.utc)
    await digest(pool, [IngestBatch(project.id, [entry(received_at=None)])], now=lambda: fixed)
    async with pool.acquire() as conn:
        got = await conn.fetchval("SELECT received_at FROM logs WHERE project_id = $1", project.id)
    assert got == fixed


def _retried(event_id: str, received: datetime, **fields: Any) -> dict[str, Any]:
    """An entry whose out-of-range timestamp the API replaced by its receive time."""
    return entry(
        event_id=event_id,
        timestamp=received.isoformat(),
        received_at=received.isoformat(),
        original_timestamp="1999-12-31T23:59:59Z",
        **fields,
    )


async def test_retry_of_a_replaced_timestamp_is_stored_once(
    pool: asyncpg.Pool, project: Project
) -> None:
    """An SDK retry of an entry whose timestamp was replaced (new receive time) is a duplicate."""
    event_id = secrets.token_hex(16)
    first = await digest(pool, [IngestBatch(project.id, [_retried(event_id, NOW)])])
    later = NOW + timedelta(seconds=7)
    again = await digest(
        pool,
        [
            IngestBatch(
                project.id,
                [_retried(event_id, later, level="ERROR", error_type="E", stack_trace=_trace())],
            )
        ],
    )
    assert (first.inserted, again.inserted, again.duplicates) == (1, 0, 1)
    assert again.issues_created == 0  # the issue made for the dropped copy is removed
    state = await _state(pool, project.id)
    assert len(state["logs"]) == 1
    assert state["issues"] == []
    assert sum(r[4] for r in state["hourly"]) == 1


async def test_replaced_copies_in_one_digest_and_concurrent_digests_store_once(
    pool: asyncpg.Pool, project: Project
) -> None:
    """Two copies in one call, or racing calls, still store one row per retried entry."""
    ids = [secrets.token_hex(16) for _ in range(20)]
    both = [_retried(i, NOW + timedelta(seconds=s)) for s in (1, 2) for i in ids[:10]]
    result = await digest(pool, [IngestBatch(project.id, both)])
    assert (result.inserted, result.duplicates) == (10, 10)
    racing = [
        digest(
            pool,
            [IngestBatch(project.id, [_retried(i, NOW + timedelta(seconds=s)) for i in ids[10:]])],
        )
        for s in range(3, 9)
    ]
    results = await asyncio.gather(*racing)
    assert sum(r.inserted for r in results) == 10
    state = await _state(pool, project.id)
    assert len(state["logs"]) == 20


async def test_same_event_id_with_another_sent_timestamp_is_not_dropped(
    pool: asyncpg.Pool, project: Project
) -> None:
    """Only the same (event id, sent timestamp) is a retry; a normal entry is untouched."""
    event_id = secrets.token_hex(16)
    await digest(pool, [IngestBatch(project.id, [_retried(event_id, NOW)])])
    other = dict(_retried(event_id, NOW + timedelta(seconds=1)), original_timestamp="2000-01-01")
    normal = entry(event_id=event_id, timestamp=(NOW - timedelta(minutes=1)).isoformat())
    result = await digest(pool, [IngestBatch(project.id, [other, normal])])
    assert result.inserted == 2


async def test_a_client_with_a_broken_clock_takes_few_locks(
    pool: asyncpg.Pool, project: Project
) -> None:
    """Thousands of replaced entries are deduplicated under at most 64 advisory locks."""
    from tracehub_server.storage.logs import REPLACED_LOCK_BUCKETS, find_stored_replacements

    ids = [secrets.token_hex(16) for _ in range(3000)]
    first = await digest(pool, [IngestBatch(project.id, [_retried(i, NOW) for i in ids])])
    later = NOW + timedelta(minutes=3)
    again = await digest(pool, [IngestBatch(project.id, [_retried(i, later) for i in ids])])
    assert (first.inserted, again.inserted, again.duplicates) == (3000, 0, 3000)
    async with pool.acquire() as conn, conn.transaction():
        keys = [(project.id, i, "1999-12-31T23:59:59Z", later) for i in ids]
        assert len(await find_stored_replacements(conn, keys)) == 3000
        held = await conn.fetchval(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()"
        )
    assert 0 < held <= REPLACED_LOCK_BUCKETS


_COLUMNS = (
    'event_id, "timestamp", received_at, level, service, environment, host, pid, thread_id,'
    " sdk_version, message, module, trace_id, error_type, error_message, stack_trace, extra,"
    " original_timestamp, issue_id IS NOT NULL AS grouped"
)


async def _rows(pool: asyncpg.Pool, project_id: int) -> list[tuple[Any, ...]]:
    async with pool.acquire() as conn:
        rows = await conn.fetch(
            f"SELECT {_COLUMNS} FROM logs WHERE project_id = $1 ORDER BY event_id",
            project_id,
        )
    return [tuple(r) for r in rows]


async def _projects(pool: asyncpg.Pool, n: int) -> list[Project]:
    async with pool.acquire() as conn:
        return [await create_project(conn, f"p-{secrets.token_hex(4)}") for _ in range(n)]


def _sample() -> list[dict[str, Any]]:
    return [
        entry(),
        entry(level="DEBUG", extra=None, host=None, pid=None, thread_id=None),
        entry(timestamp="2026-01-02T03:04:05.678+00:00", extra={"n": [1, {"x": None}]}),
        entry(timestamp="2026-01-02T03:04:05.123457+00:00"),
        entry(timestamp="1969-12-31T23:59:59.999999+00:00"),
        entry(
            timestamp=(NOW - timedelta(hours=3))
            .astimezone(timezone(timedelta(hours=5)))
            .isoformat()
        ),
        entry(received_at=None, service="", environment=""),
        error(),
        error(level="FATAL", module="tax"),
    ]


async def test_lean_and_general_paths_store_identical_rows(pool: asyncpg.Pool) -> None:
    """Entries stored by the lean path equal, column by column, the general path's rows."""
    lean, general = await _projects(pool, 2)
    entries = _sample()
    assert prepare_lean([IngestBatch(lean.id, entries)], NOW) is not None
    await digest(pool, [IngestBatch(lean.id, entries)], now=lambda: NOW)
    # One entry only the general path can store (a NUL) sends the whole digest there.
    await digest(
        pool,
        [IngestBatch(general.id, [*entries, entry(message="n\x00ul")])],
        now=lambda: NOW,
    )
    general_rows = [r for r in await _rows(pool, general.id) if r[10] != "n\ufffdul"]
    assert await _rows(pool, lean.id) == general_rows


async def test_value_arrays_of_a_version_3_message_digest_like_dicts(pool: asyncpg.Pool) -> None:
    """Entries decoded from a version-3 message store the same rows; a redelivery of the
    dict form is all duplicates."""
    as_dicts, as_arrays = await _projects(pool, 2)
    entries = _sample()
    await digest(pool, [IngestBatch(as_dicts.id, entries)], now=lambda: NOW)
    [batch] = decode(encode_group([(as_arrays.id, encode_entries(entries))]))
    assert all(type(e) is list for e in batch.entries)
    result = await digest(pool, [batch], now=lambda: NOW)
    assert (result.inserted, result.invalid) == (len(entries), 0)
    assert await _rows(pool, as_arrays.id) == await _rows(pool, as_dicts.id)
    again = await digest(pool, [IngestBatch(as_arrays.id, entries)], now=lambda: NOW)
    assert (again.inserted, again.duplicates) == (0, len(entries))


async def test_value_arrays_of_the_wrong_length_are_counted_invalid(
    pool: asyncpg.Pool, project: Project
) -> None:
    """A value array that is not an entry's length is skipped and counted; the rest commit."""
    [batch] = decode(encode_group([(project.id, encode_entries([entry(), entry()]))]))
    batch.entries.append(batch.entries[0][:-1])
    batch.entries.append(["x"] * 40)
    result = await digest(pool, [batch])
    assert (result.inserted, result.invalid) == (2, 2)


@pytest.mark.parametrize(
    "odd",
    [
        {"pid": 2**40},
        {"thread_id": 2**70},
        {"pid": "12"},
        {"pid": True, "thread_id": False},
        {"pid": 1.5},
        {"host": 5},
        {"message": None},
        {"service": None, "environment": None},
        {"event_id": "NOT-HEX"},
        {"event_id": "ABCDEF0123456789ABCDEF0123456789"},
        {"event_id": "{abcdef0123456789abcdef0123456789}"},
        {"event_id": "abcdef01-2345-6789-abcd-ef0123456789"},
        {"event_id": None},
        {"timestamp": "2026-06-01T11:59:00"},
        {"timestamp": "2026-06-01T11:59:00Z"},
        {"timestamp": "not a time"},
        {"received_at": "garbage"},
        {"extra": [1, 2]},
        {"extra": {1: "int key"}},
        {"extra": {"k": "v\x00"}},
        {"level": "warning"},
        {"level": "LOUD"},
        {"message": "nul\x00"},
        {"message": "surrogate \udcff"},
        {"stack_trace": 42, "level": "ERROR"},
    ],
)
async def test_the_lean_path_leaves_every_oddity_to_the_general_path(
    pool: asyncpg.Pool, monkeypatch: pytest.MonkeyPatch, odd: dict[str, Any]
) -> None:
    """Whatever an entry holds, the stored rows and counts equal the general path's."""
    from tracehub_server.worker import digest as digest_module

    usual, general = await _projects(pool, 2)
    entries = [entry(), {**entry(), **odd}]
    got = await digest(pool, [IngestBatch(usual.id, entries)], now=lambda: NOW)
    monkeypatch.setattr(digest_module, "prepare_lean", lambda batches, now: None)
    want = await digest(pool, [IngestBatch(general.id, entries)], now=lambda: NOW)
    assert (got.inserted, got.invalid) == (want.inserted, want.invalid)
    # Without event_id: the general path derives a missing or malformed one from the project.
    assert sorted((r[1:] for r in await _rows(pool, usual.id)), key=repr) == sorted(
        (r[1:] for r in await _rows(pool, general.id)), key=repr
    )


@pytest.mark.parametrize("lean", [True, False])
async def test_times_are_stored_to_the_microsecond(
    pool: asyncpg.Pool, monkeypatch: pytest.MonkeyPatch, lean: bool
) -> None:
    """Times travel to the COPY as microseconds and come back exact, on both paths."""
    from tracehub_server.worker import digest as digest_module

    if not lean:
        monkeypatch.setattr(digest_module, "prepare_lean", lambda batches, now: None)
    [project] = await _projects(pool, 1)
    sent = [
        "2026-01-02T03:04:05.123457+00:00",
        "1969-12-31T23:59:59.999999+00:00",
        "2026-03-29T01:30:00.000001+02:00",
    ]
    received = "2026-01-02T03:04:06.654321+00:00"
    entries = [entry(timestamp=t, received_at=received) for t in sent]
    await digest(pool, [IngestBatch(project.id, entries)])
    async with pool.acquire() as conn:
        got = await conn.fetch(
            'SELECT "timestamp", received_at FROM logs WHERE project_id = $1', project.id
        )
    assert sorted(r["timestamp"] for r in got) == sorted(datetime.fromisoformat(t) for t in sent)
    assert {r["received_at"] for r in got} == {datetime.fromisoformat(received)}
