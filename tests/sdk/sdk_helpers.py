"""Small helpers shared by the SDK tests (imported by name; pytest puts this folder on the path)."""

from __future__ import annotations

from typing import Any

#: Seconds a test waits for something to arrive before failing.
WAIT = 15.0


def messages(entries: list[dict[str, Any]]) -> list[str]:
    """The messages of ``entries``, in order."""
    return [entry["message"] for entry in entries]
