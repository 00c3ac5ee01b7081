"""Per-user display preferences of the issue page."""

from __future__ import annotations

import asyncpg

__all__ = ["FRAME_ORDERS", "get_frame_order", "set_frame_order"]

#: Frame orders of a stack trace: the raise site first (the default), or the entry point.
FRAME_ORDERS = ("newest", "oldest")


async def get_frame_order(conn: asyncpg.Connection, user_id: int) -> str:
    """The user's frame order ("newest" when unknown)."""
    value = await conn.fetchval("SELECT frame_order FROM users WHERE id = $1", user_id)
    return value if value in FRAME_ORDERS else FRAME_ORDERS[0]


async def set_frame_order(conn: asyncpg.Connection, user_id: int, order: str) -> None:
    """Remember ``order`` (one of :data:`FRAME_ORDERS`) for the user."""
    if order not in FRAME_ORDERS:
        raise ValueError(f"frame order must be one of {', '.join(FRAME_ORDERS)}, got {order!r}")
    await conn.execute("UPDATE users SET frame_order = $2 WHERE id = $1", user_id, order)
