"""Issue fingerprints and titles: which events are "the same bug".

The fingerprint of an ERROR/FATAL event is SHA-256, per project, over:

* with a parsable stack trace: the error type, the chain of cause types, and the five frames
  nearest the raise site (module/file and function, no line numbers), preferring the
  application's own frames over the standard library's and third-party packages' (all frames
  are used only when none is the application's);
* otherwise: the error type and the normalised error message.

Nearest-the-raise-site matters: frames far from it are the framework's request plumbing,
shared by every bug, so hashing them merges distinct bugs.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache

from tracehub_server.grouping.frames import Frame, parse_stack, python_head
from tracehub_server.grouping.normalise import normalise

#: Frames hashed per fingerprint.
TOP_FRAMES = 5
#: Characters of an issue title.
MAX_TITLE_CHARS = 200
# Bump when the algorithm changes, so old and new fingerprints never collide by accident.
_VERSION = "th1"


def grouping_frames(frames: tuple[Frame, ...]) -> list[Frame]:
    """The frames that identify a bug: up to five in-app ones nearest the raise site."""
    in_app = [frame for frame in frames if frame.in_app]
    return (in_app or list(frames))[:TOP_FRAMES]


def fingerprint_parts(
    error_type: str | None, error_message: str | None, stack_trace: str | None
) -> list[str]:
    """The strings a fingerprint hashes (exposed so tests and docs can show them)."""
    kind = (error_type or "").strip()
    parsed = parse_stack(stack_trace)
    if parsed is None:
        return ["message", kind, normalise(error_message)]
    frames = grouping_frames(parsed.frames)
    return [
        "frames",
        kind,
        ">".join(parsed.chain),
        *(f"{frame.module}:{frame.function}" for frame in frames),
    ]


def fingerprint(
    project_id: int, error_type: str | None, error_message: str | None, stack_trace: str | None
) -> str:
    """Hex SHA-256 identifying the issue an error event belongs to in its project.

    Cached: a worker sees the same few errors over and over, and parsing a trace costs more
    than hashing the strings to look it up. A Python trace is looked up by its head, up to
    its last frame line: the lines after it (the exception's message, which differs between
    events of one bug -- ids, amounts) cannot change the result (see
    :func:`~tracehub_server.grouping.frames.python_head`).
    """
    head = python_head(stack_trace)
    if head is not None:
        cached = _fingerprint_of_head(project_id, error_type, head)
        if cached is not None:
            return cached
    return _fingerprint(project_id, error_type, error_message, stack_trace)


@lru_cache(maxsize=4096)
def _fingerprint_of_head(project_id: int, error_type: str | None, head: str) -> str | None:
    parsed = parse_stack(head)
    if parsed is None or parsed.language != "python":
        return None  # not what _python_head assumed: the caller takes the general path
    return _fingerprint(project_id, error_type, None, head)


@lru_cache(maxsize=4096)
def _fingerprint(
    project_id: int, error_type: str | None, error_message: str | None, stack_trace: str | None
) -> str:
    parts = [_VERSION, str(project_id), *fingerprint_parts(error_type, error_message, stack_trace)]
    data = "\x1f".join(parts).encode("utf-8", "surrogatepass")
    return hashlib.sha256(data).hexdigest()


def title(error_type: str | None, error_message: str | None, message: str | None = None) -> str:
    """A short, stable issue title: "Type: normalised first line of the message"."""
    text = error_message or message or ""
    first_line = text.strip().split("\n", 1)[0]
    summary = normalise(first_line) or first_line.strip()
    kind = (error_type or "").strip()
    result = f"{kind}: {summary}" if kind and summary else kind or summary or "(no message)"
    if len(result) > MAX_TITLE_CHARS:
        result = result[: MAX_TITLE_CHARS - 1] + "…"
    return result
