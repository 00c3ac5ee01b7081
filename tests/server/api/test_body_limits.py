"""Body time limits (deadline, minimum rate) and the per-process gate (count, memory)."""

from __future__ import annotations

import asyncio
import gzip
from collections.abc import AsyncIterator

import pytest

from tracehub_server.api.body import BodyError, BodyGate, BodyLimits, read_body


async def _stall_after(first: bytes) -> AsyncIterator[bytes]:
    yield first
    await asyncio.Event().wait()  # never set: the client went quiet
    yield b""  # pragma: no cover


async def _trickle(count: int, every: float) -> AsyncIterator[bytes]:
    for _ in range(count):
        await asyncio.sleep(every)
        yield b" "


async def test_a_stalled_body_is_408_at_the_deadline() -> None:
    """Headers and one byte, then silence: 408 (and close) once the deadline passes."""
    gate = BodyGate(BodyLimits(deadline=0.2, min_rate=0, grace=0))
    with pytest.raises(BodyError) as caught:
        await asyncio.wait_for(read_body(_stall_after(b"["), gzip=False, admission=gate.admit()), 5)
    assert caught.value.status == 408
    assert caught.value.close


async def test_a_trickle_below_the_minimum_rate_is_408() -> None:
    """One byte every 20 ms is refused once the grace is over, long before the deadline."""
    gate = BodyGate(BodyLimits(deadline=60, min_rate=1000, grace=0.1))
    with pytest.raises(BodyError) as caught:
        await asyncio.wait_for(
            read_body(_trickle(500, 0.02), gzip=False, admission=gate.admit()), 5
        )
    assert caught.value.status == 408


async def test_a_body_in_time_passes_the_limits() -> None:
    """A body that arrives at once is returned whole under the limits."""
    data = gzip.compress(b"[1, 2, 3]")

    async def one() -> AsyncIterator[bytes]:
        yield data

    gate = BodyGate(BodyLimits(deadline=1, min_rate=1))
    admission = gate.admit()
    assert await read_body(one(), gzip=True, admission=admission) == b"[1, 2, 3]"
    assert gate.held == len(b"[1, 2, 3]")
    admission.release()
    assert (gate.active, gate.held) == (0, 0)


def test_the_gate_refuses_bodies_beyond_its_count_with_retry_after() -> None:
    """A third body with two slots is 503 with Retry-After; a released slot admits again."""
    gate = BodyGate(BodyLimits(max_concurrent=2))
    first, _second = gate.admit(), gate.admit()
    with pytest.raises(BodyError) as caught:
        gate.admit()
    assert caught.value.status == 503
    assert caught.value.retry_after
    first.release()
    first.release()  # idempotent
    gate.admit()
    assert gate.active == 2


async def test_the_gate_refuses_bodies_beyond_its_memory() -> None:
    """A gzip body inflating past the byte budget is 503 mid-way, and its bytes are given back."""
    gate = BodyGate(BodyLimits(max_memory=256 * 1024))
    held = gate.admit()
    held.charge(100 * 1024)
    bomb = gzip.compress(b"[" + b"0," * (512 * 1024) + b"0]")

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(bomb), 1024):
            yield bomb[start : start + 1024]

    admission = gate.admit()
    with pytest.raises(BodyError) as caught:
        await read_body(chunks(), gzip=True, admission=admission)
    assert caught.value.status == 503
    admission.release()
    assert gate.held == 100 * 1024


async def test_a_timed_out_body_leaves_its_task_usable() -> None:
    """After a 408 the request's task is not left cancelled: it can still await (answer)."""
    gate = BodyGate(BodyLimits(deadline=0.1, min_rate=0, grace=0))
    with pytest.raises(BodyError):
        await read_body(_stall_after(b"["), gzip=False, admission=gate.admit())
    await asyncio.sleep(0.01)  # would raise CancelledError if the cancel leaked
    task = asyncio.current_task()
    assert task is not None
    assert task.cancelling() == 0
