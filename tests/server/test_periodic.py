"""PeriodicTask: the first run at once, then one per interval."""

from __future__ import annotations

import asyncio

from tracehub_server.periodic import PeriodicTask


class _Counting(PeriodicTask):
    def __init__(self) -> None:
        super().__init__(interval=3600)
        self.runs = 0

    async def tick(self) -> None:
        await asyncio.sleep(0.01)  # a run that takes a moment, as a database round trip does
        self.runs += 1


async def test_first_run_done_waits_for_the_first_run_and_no_more() -> None:
    """A worker awaiting first_run_done sees exactly one finished run, the next an hour away."""
    task = _Counting()
    task.start()
    try:
        await asyncio.wait_for(task.first_run_done(), timeout=10)
        assert task.runs == 1
        await task.first_run_done()  # already done: returns at once
        assert task.runs == 1
    finally:
        await task.stop()
