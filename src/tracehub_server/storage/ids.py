"""Row ids: every table's primary key is a PostgreSQL ``bigint``.

An id that cannot be one (zero, negative, beyond ``bigint``, a bool) names no row, so
storage functions answer "no such row" without a round trip, instead of asyncpg
raising on a value it cannot bind (the dashboard's forms and the API's paths pass
what the user typed).
"""

from __future__ import annotations

__all__ = ["MAX_BIGINT", "valid_id"]

#: The largest value of a PostgreSQL ``bigint``.
MAX_BIGINT = 2**63 - 1


def valid_id(value: object) -> bool:
    """True for an int that fits a bigint primary key (never a bool)."""
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value <= MAX_BIGINT
