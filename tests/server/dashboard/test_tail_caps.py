"""Live-tail stream limits: per user as well as per process."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from tracehub_server.dashboard import tail


async def _open(user_id: int) -> Any:
    stream = tail.stream(
        None,  # type: ignore[arg-type]  # the first message is sent before any query
        1,
        None,  # type: ignore[arg-type]
        start=datetime.now(timezone.utc),
        render_rows=lambda rows: "",
        user_id=user_id,
    )
    await stream.__anext__()
    return stream


async def test_one_user_cannot_take_every_stream() -> None:
    """A user at the per-user limit is refused while another user may still open one."""
    streams = [await _open(7) for _ in range(tail.MAX_STREAMS_PER_USER)]
    try:
        assert not tail.can_open(7)
        assert tail.can_open(8)
    finally:
        for stream in streams:
            await stream.aclose()
    assert tail.can_open(7)
    assert 7 not in tail._open_by_user
