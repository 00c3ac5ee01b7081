"""A background task that runs one step now and then every ``interval`` seconds.

Housekeeping timers (session purge, partition upkeep) share this skeleton; each subclass's
:meth:`PeriodicTask.tick` does one run and handles its own errors, so a failing run never
ends the timer. Imports nothing from TraceHub: any layer may use it.
"""

from __future__ import annotations

import asyncio
import contextlib


class PeriodicTask:
    """Start with :meth:`start`, stop with :meth:`stop`; subclasses implement :meth:`tick`."""

    #: The asyncio task's name (shows in task dumps).
    task_name = "tracehub-periodic"

    def __init__(self, *, interval: float) -> None:
        if interval <= 0:
            raise ValueError(f"interval must be > 0 seconds, got {interval}")
        self._interval = interval
        self._task: asyncio.Task[None] | None = None
        self._first_run = asyncio.Event()

    def start(self) -> None:
        """Start the timer; the first run happens at once, in the background."""
        if self._task is None:
            self._task = asyncio.create_task(self._loop(), name=self.task_name)

    async def stop(self) -> None:
        """Cancel the timer and wait for it (a run in progress is cancelled)."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def first_run_done(self) -> None:
        """Wait until the first run (started by :meth:`start`) has finished."""
        await self._first_run.wait()

    async def tick(self) -> None:
        """One run; must not raise for the errors it expects."""
        raise NotImplementedError

    async def _loop(self) -> None:
        while True:
            await self.tick()
            self._first_run.set()
            await asyncio.sleep(self._interval)
