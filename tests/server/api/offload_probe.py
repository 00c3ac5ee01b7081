"""A body parser that reports which process ran each parse: the proof a body left the loop."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any, TypeVar

from tracehub_server.api.offload import BodyParser

T = TypeVar("T")


def run_reporting_pid(fn: Callable[..., T], *args: Any) -> tuple[int, T]:
    """``fn(*args)`` and the id of the process that ran it (module-level: it pickles)."""
    return os.getpid(), fn(*args)


class PidRecordingParser(BodyParser):
    """:class:`BodyParser` recording, for each run, the function and the process it ran in."""

    def __init__(self, *, processes: int = 1, threshold: int) -> None:
        super().__init__(processes=processes, threshold=threshold)
        self.runs: list[tuple[str, int]] = []

    async def run(self, size: int, fn: Callable[..., T], *args: Any) -> T:
        pid, result = await super().run(size, run_reporting_pid, fn, *args)
        self.runs.append((getattr(fn, "__name__", repr(fn)), pid))
        return result
