"""Small helpers shared by the SDK tests (imported by name; pytest puts this folder on the path)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

#: Seconds a test waits for something to arrive before failing.
WAIT = 15.0


def messages(entries: list[dict[str, Any]]) -> list[str]:
    """The messages of ``entries``, in order."""
    return [entry["message"] for entry in entries]


def eventually(predicate: Callable[[], bool], timeout: float = WAIT) -> bool:
    """Poll ``predicate`` until it holds or ``timeout`` passes; return its last value."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() >= deadline:
            return predicate()
        time.sleep(0.01)
    return True
