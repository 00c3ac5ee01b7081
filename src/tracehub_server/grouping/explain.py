"""Why an event is in its issue: the inputs of its fingerprint, for people to read.

The issue page and the JSON API show these, so a user can see why two events are one issue
and steer it (a custom fingerprint, a merge).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

from tracehub_server.grouping.fingerprint import (
    GROUPING_VERSION,
    distinct_members,
    grouping_frames,
    is_default_placeholder,
    reads_groups,
)
from tracehub_server.grouping.frames import parse_stack
from tracehub_server.grouping.normalise import normalise

__all__ = ["GroupingView", "StoredError", "event_grouping_view", "grouping_view"]


@dataclass(slots=True)
class GroupingView:
    """What the fingerprint of an event was computed from."""

    kind: str  # "frames", "message" or "custom"
    version: str
    error_type: str
    chain: list[str] = field(default_factory=list)
    frames: list[str] = field(default_factory=list)
    #: An exception group's distinct members: each its type, then its frames' keys.
    members: list[list[str]] = field(default_factory=list)
    message: str = ""
    custom: list[str] = field(default_factory=list)
    uses_default: bool = False

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready fields."""
        return asdict(self)


def grouping_view(
    error_type: str | None,
    error_message: str | None,
    stack_trace: str | None,
    custom: list[str] | None,
    version: str = GROUPING_VERSION,
) -> GroupingView:
    """The inputs of an event's fingerprint, as :mod:`~tracehub_server.grouping.fingerprint`
    hashes them."""
    kind = (error_type or "").strip()
    view = GroupingView(kind="frames", version=version, error_type=kind)
    # The one reading fingerprint_parts makes: frames when the trace parses, else the message.
    parsed = parse_stack(stack_trace, groups=reads_groups(version))
    if parsed is not None:
        view.chain = list(parsed.chain)
        view.frames = [f.key for f in grouping_frames(parsed.frames)]
        view.members = distinct_members(parsed)
    else:
        view.kind = "message"
        view.message = normalise(error_message)
    if custom:
        view.custom = list(custom)
        view.uses_default = any(is_default_placeholder(part) for part in custom)
        view.kind = "custom"
    return view


class StoredError(Protocol):
    """The fields of a stored event that its fingerprint was computed from."""

    @property
    def error_type(self) -> str | None: ...
    @property
    def error_message(self) -> str | None: ...
    @property
    def message(self) -> str | None: ...
    @property
    def stack_trace(self) -> str | None: ...
    @property
    def fingerprint(self) -> list[str] | None: ...


def event_grouping_view(event: StoredError, version: str) -> GroupingView:
    """:func:`grouping_view` of a stored event, read as the worker fingerprinted it (the
    message stands in for an error message the event lacks)."""
    return grouping_view(
        event.error_type,
        event.error_message or event.message,
        event.stack_trace,
        event.fingerprint,
        version,
    )
