"""Building blocks of the read queries: a WHERE builder and statements with a time limit.

Both ``log_queries`` and ``issue_queries`` build their statements from optional filters, so
clauses and their ``$n`` parameters are collected together (:class:`Where`) and values are
always bound, never interpolated. Every read a user can shape runs under a server-side
``statement_timeout`` (:data:`QUERY_TIMEOUT_MS`), so no filter can hold a pooled connection
for long; a cancelled statement surfaces as :class:`QueryTimeoutError`, which the routes
answer with 503.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import asyncpg

__all__ = [
    "QUERY_TIMEOUT_MS",
    "QueryTimeoutError",
    "Where",
    "fetch_bounded",
    "set_statement_timeout",
    "timeout_error",
]

#: Milliseconds a single explorer query may run before it is cancelled.
QUERY_TIMEOUT_MS = 10_000


class QueryTimeoutError(RuntimeError):
    """The query ran longer than :data:`QUERY_TIMEOUT_MS`; narrow the filters."""


def timeout_error() -> QueryTimeoutError:
    """The error for a statement cancelled by :data:`QUERY_TIMEOUT_MS`, saying what to do."""
    return QueryTimeoutError(
        f"the query ran longer than {QUERY_TIMEOUT_MS} ms; narrow since/until or add filters"
    )


class Where:
    """Accumulates WHERE clauses with numbered parameters."""

    def __init__(self) -> None:
        self.clauses: list[str] = []
        self.args: list[Any] = []

    def arg(self, value: Any) -> str:
        """Bind ``value`` and return its placeholder (``$n``) for use in a clause."""
        self.args.append(value)
        return f"${len(self.args)}"

    def add(self, clause: str) -> None:
        """Require ``clause``; it may only hold constants and placeholders from :meth:`arg`."""
        self.clauses.append(clause)

    def any_of(self, column: str, values: Sequence[str]) -> None:
        """``column`` equals one of ``values``; no clause when ``values`` is empty.

        One value is a plain ``=`` so the planner sees a constant, not an array.
        """
        if len(values) == 1:
            self.add(f"{column} = {self.arg(values[0])}")
        elif values:
            self.add(f"{column} = ANY({self.arg(list(values))}::text[])")

    def sql(self) -> str:
        """The clauses joined with AND (``true`` when there are none)."""
        return " AND ".join(self.clauses) or "true"


async def set_statement_timeout(conn: asyncpg.Connection, milliseconds: float) -> None:
    """Cap statements of the current transaction (``SET LOCAL``) at ``milliseconds``."""
    await conn.execute(f"SET LOCAL statement_timeout = {int(milliseconds)}")


async def fetch_bounded(conn: asyncpg.Connection, sql: str, *args: Any) -> list[asyncpg.Record]:
    """Rows of ``sql`` run under :data:`QUERY_TIMEOUT_MS`; :class:`QueryTimeoutError` past it.

    The timeout is ``SET LOCAL`` in its own transaction (a savepoint when the caller has one
    open), so it never outlives this statement on the pooled connection.
    """
    try:
        async with conn.transaction():
            await set_statement_timeout(conn, QUERY_TIMEOUT_MS)
            return await conn.fetch(sql, *args)
    except asyncpg.QueryCanceledError:
        raise timeout_error() from None
