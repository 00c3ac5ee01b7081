"""Property-based fuzzing of ``POST /api/v1/ingest`` (hypothesis): entries with any mix of
fields and JSON values, and arbitrary bodies, plain or gzip, never get a 5xx and never land
in another project."""

from __future__ import annotations

import gzip
import json
from datetime import datetime, timedelta, timezone

import httpx
from fuzz_support import fuzz_settings, snapshot, two_teams
from hostile_support import Server
from hypothesis import given
from hypothesis import strategies as st

from tracehub_server.queue.messages import ENTRY_KEYS

#: Examples per property; each is one request to the real server.
EXAMPLES = 150

_NOW = datetime.now(timezone.utc)


def _dumps(value: object) -> bytes:
    """JSON as any client may write it (integers beyond 64 bits included)."""
    return json.dumps(value).encode()


_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False),
    st.text(max_size=40),
    st.sampled_from(["ERROR", "info", "FATAL", "\x00", "²", _NOW.isoformat(), "9999-12-31"]),
    st.just((_NOW - timedelta(minutes=1)).isoformat()),
)
_json = st.recursive(
    _scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
_entry = st.dictionaries(st.sampled_from([*ENTRY_KEYS, "msg", "lvl", "ts"]), _json, max_size=10)
_entries_body = st.lists(st.one_of(_entry, _json), max_size=12).map(_dumps)
_body = st.one_of(_entries_body, st.binary(max_size=300), _json.map(_dumps))


def test_ingest_never_5xx_and_never_crosses_projects(server: Server) -> None:
    """Generated bodies with A's key: every answer is below 500 and B never changes."""
    teams = two_teams(server.dsn)
    before = snapshot(server.dsn, teams.project_b)
    failures: list[tuple[int, bytes]] = []

    with httpx.Client(base_url=server.url, timeout=30) as client:

        @fuzz_settings(EXAMPLES)
        @given(body=_body, compress=st.booleans())
        def fuzz(body: bytes, compress: bool) -> None:
            headers = {"X-API-Key": teams.key_a, "Content-Type": "application/json"}
            if compress:
                body = gzip.compress(body)
                headers["Content-Encoding"] = "gzip"
            r = client.post("/api/v1/ingest", content=body, headers=headers)
            if r.status_code >= 500:
                failures.append((r.status_code, body[:300]))

        fuzz()
    assert not failures, failures[:5]
    assert snapshot(server.dsn, teams.project_b) == before
