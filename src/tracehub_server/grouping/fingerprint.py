"""Issue fingerprints and titles: which events are "the same bug".

The fingerprint of an ERROR/FATAL event is SHA-256, per project, over:

* with a parsable stack trace: the error type, the chain of cause types, and the five frames
  nearest the raise site (module/file and function, no line numbers), preferring the
  application's own frames over the standard library's and third-party packages' (all frames
  are used only when none is the application's); for a Python exception group, its own
  frames, and each distinct member's type and five frames chosen alike;
* otherwise: the error type and the normalised error message;
* with a custom fingerprint (the entry's ``fingerprint``, a list of strings): those strings,
  ``"{{ default }}"`` among them standing for the default parts above.

The version (:data:`GROUPING_VERSION`) is hashed too. A change of the algorithm gets a new
version, and the function it replaces is kept in :data:`PREVIOUS_ALGORITHMS` under the old
version: the digest then also computes a new event's fingerprint the old ways, and when one
of those names an existing issue, the event goes there and its new fingerprint is recorded as
an alias of that issue (see :func:`~tracehub_server.storage.issues.resolve_issue_ids`) -- so a
change of the algorithm never splits an issue.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from functools import lru_cache, partial

from tracehub_server.grouping.frames import Frame, ParsedTrace, parse_stack, python_head
from tracehub_server.grouping.normalise import normalise

#: Frames hashed per fingerprint.
TOP_FRAMES = 5
#: Characters of an issue title.
MAX_TITLE_CHARS = 200
#: The grouping algorithm's version, hashed into every fingerprint. Bump it when the
#: algorithm changes (old and new fingerprints then never collide by accident) and keep the
#: old function in :data:`PREVIOUS_ALGORITHMS`.
GROUPING_VERSION = "th2"
#: ``(project_id, error_type, error_message, stack_trace, custom) -> fingerprint``.
FingerprintFn = Callable[
    [int, "str | None", "str | None", "str | None", "tuple[str, ...] | None"], str
]
_VERSION = GROUPING_VERSION
#: The placeholder of a custom fingerprint that stands for the default parts (Sentry's).
DEFAULT_PLACEHOLDER = "{{ default }}"


def grouping_frames(frames: tuple[Frame, ...]) -> list[Frame]:
    """The frames that identify a bug: up to five in-app ones nearest the raise site."""
    in_app = [frame for frame in frames if frame.in_app]
    return (in_app or list(frames))[:TOP_FRAMES]


def distinct_members(parsed: ParsedTrace) -> list[list[str]]:
    """An exception group's members as the fingerprint names them -- each its type, then
    its grouping frames' keys -- once each, in the order they are hashed."""
    named: dict[str, list[str]] = {}
    for member in parsed.members:
        keys = [member.type, *(frame.key for frame in grouping_frames(member.frames))]
        named.setdefault(">".join(keys), keys)  # hashed as this text: one per text
    return [named[text] for text in sorted(named)]


def fingerprint_parts(
    error_type: str | None,
    error_message: str | None,
    stack_trace: str | None,
    *,
    groups: bool = True,
) -> list[str]:
    """The strings a fingerprint hashes (exposed so tests and docs can show them);
    ``groups=False``: as ``th1``, which did not read exception groups."""
    kind = (error_type or "").strip()
    parsed = parse_stack(stack_trace, groups=groups)
    if parsed is None:
        return ["message", kind, normalise(error_message)]
    frames = grouping_frames(parsed.frames)
    return [
        "frames",
        kind,
        ">".join(parsed.chain),
        *(frame.key for frame in frames),
        *("member:" + ">".join(keys) for keys in distinct_members(parsed)),
    ]


def previous_fingerprints(
    project_id: int,
    error_type: str | None,
    error_message: str | None,
    stack_trace: str | None,
    custom: tuple[str, ...] | None = None,
) -> tuple[str, ...]:
    """The event's fingerprints under :data:`PREVIOUS_ALGORITHMS` (none while it is empty)."""
    if not PREVIOUS_ALGORITHMS:
        return ()
    found = (
        fn(project_id, error_type, error_message, stack_trace, custom)
        for fn in PREVIOUS_ALGORITHMS.values()
    )
    return tuple(dict.fromkeys(found))


def is_default_placeholder(part: str) -> bool:
    """True for ``"{{ default }}"``, spaces inside the braces optional."""
    return part.replace(" ", "") == "{{default}}"


def custom_parts(
    custom: tuple[str, ...],
    error_type: str | None,
    error_message: str | None,
    stack_trace: str | None,
    *,
    groups: bool = True,
) -> list[str]:
    """The strings a custom fingerprint hashes, ``{{ default }}`` expanded."""
    parts = ["custom"]
    for part in custom:
        if is_default_placeholder(part):
            parts.extend(fingerprint_parts(error_type, error_message, stack_trace, groups=groups))
        else:
            parts.append(part)
    return parts


def fingerprint(
    project_id: int,
    error_type: str | None,
    error_message: str | None,
    stack_trace: str | None,
    custom: tuple[str, ...] | None = None,
) -> str:
    """Hex SHA-256 identifying the issue an error event belongs to in its project.

    Cached: a worker sees the same few errors over and over, and parsing a trace costs more
    than hashing the strings to look it up. A Python trace is looked up by its head, up to
    its last frame line: the lines after it (the exception's message, which differs between
    events of one bug -- ids, amounts) cannot change the result (see
    :func:`~tracehub_server.grouping.frames.python_head`).
    """
    return _versioned(_VERSION, project_id, error_type, error_message, stack_trace, custom)


def reads_groups(version: str) -> bool:
    """Whether grouping ``version`` reads a Python exception group's trace (``th1`` did not)."""
    return _READS_GROUPS.get(version, True)


def _versioned(
    version: str,
    project_id: int,
    error_type: str | None,
    error_message: str | None,
    stack_trace: str | None,
    custom: tuple[str, ...] | None,
) -> str:
    if custom:
        return _custom_fingerprint(
            version, project_id, custom, error_type, error_message, stack_trace
        )
    head = python_head(stack_trace)  # None for an exception group: the versions differ there
    if head is not None:
        cached = _fingerprint_of_head(version, project_id, error_type, head)
        if cached is not None:
            return cached
    return _fingerprint(version, project_id, error_type, error_message, stack_trace)


#: Replaced algorithms by version, still consulted for events of existing issues. ``th1``
#: is the current one except that it read no Python exception group's trace (its lines are
#: ``|``-prefixed): such an event was grouped by its message.
PREVIOUS_ALGORITHMS: dict[str, FingerprintFn] = {"th1": partial(_versioned, "th1")}
#: Whether each version reads exception groups.
_READS_GROUPS = {_VERSION: True, "th1": False}


@lru_cache(maxsize=8192)
def _fingerprint_of_head(
    version: str, project_id: int, error_type: str | None, head: str
) -> str | None:
    parsed = parse_stack(head)
    if parsed is None or parsed.language != "python":
        return None  # not what _python_head assumed: the caller takes the general path
    return _fingerprint(version, project_id, error_type, None, head)


@lru_cache(maxsize=8192)
def _fingerprint(
    version: str,
    project_id: int,
    error_type: str | None,
    error_message: str | None,
    stack_trace: str | None,
) -> str:
    groups = reads_groups(version)
    parts = fingerprint_parts(error_type, error_message, stack_trace, groups=groups)
    return _digest(version, project_id, parts)


@lru_cache(maxsize=2048)
def _custom_fingerprint(
    version: str,
    project_id: int,
    custom: tuple[str, ...],
    error_type: str | None,
    error_message: str | None,
    stack_trace: str | None,
) -> str:
    groups = reads_groups(version)
    parts = custom_parts(custom, error_type, error_message, stack_trace, groups=groups)
    return _digest(version, project_id, parts)


def _digest(version: str, project_id: int, parts: list[str]) -> str:
    data = "\x1f".join([version, str(project_id), *parts]).encode("utf-8", "surrogatepass")
    return hashlib.sha256(data).hexdigest()


def title(error_type: str | None, error_message: str | None, message: str | None = None) -> str:
    """An issue's title: "Type: first line of the real message", cut with an ellipsis.

    Never the normalised message: placeholders (``<num>``) are for grouping only, and the
    title shows what the issue's first event said.
    """
    text = error_message or message or ""
    summary = text.strip().split("\n", 1)[0].strip()
    kind = (error_type or "").strip()
    result = f"{kind}: {summary}" if kind and summary else kind or summary or "(no message)"
    if len(result) > MAX_TITLE_CHARS:
        result = result[: MAX_TITLE_CHARS - 1] + "…"
    return result
