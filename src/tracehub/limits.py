"""Size limits shared by the SDK and the server.

The SDK truncates to these limits before sending and keeps each batch under the
body limits; the server enforces the same numbers, so a well-behaved SDK never
sees a 413 and an ill-behaved client never makes the server allocate more.
The server imports this module (the dependency points server -> SDK, never back).
"""

from __future__ import annotations

#: Characters kept of ``message``; the rest is replaced by :data:`TRUNCATION_MARKER`.
MAX_MESSAGE_CHARS = 32_768
#: Characters kept of ``error_message``.
MAX_ERROR_MESSAGE_CHARS = 8_192
#: Characters kept of ``stack_trace`` (the *end* of a trace is kept: it holds the raise site).
MAX_STACK_TRACE_CHARS = 65_536
#: Characters kept of the short identifying fields (service, environment, module, host,
#: error_type, sdk_version).
MAX_SHORT_FIELD_CHARS = 256
#: Characters allowed in a trace id (longer ids are cut, not rejected).
MAX_TRACE_ID_CHARS = 128
#: Bytes of ``extra`` once serialised as JSON; a larger object is replaced by a summary
#: ``{"_truncated": true, "_original_bytes": N, "_preview": "<first bytes>"}``.
MAX_EXTRA_BYTES = 16_384

#: Entries in one ingest request.
MAX_ENTRIES_PER_BATCH = 1_000
#: Bytes of one request body as sent (gzip-compressed or not).
MAX_BODY_BYTES = 5 * 1024 * 1024
#: Bytes of one request body after decompression (checked while inflating: a gzip bomb
#: is stopped at this size, never fully inflated).
MAX_DECOMPRESSED_BYTES = 20 * 1024 * 1024
#: Uncompressed bytes the SDK puts in one batch: comfortably under both body limits.
SDK_BATCH_BYTE_BUDGET = 4 * 1024 * 1024

#: Appended to a truncated text field: ``...[truncated 1234 chars]``.
TRUNCATION_MARKER = "...[truncated {dropped} chars]"


def truncate_text(value: str, limit: int, *, keep_end: bool = False) -> str:
    """Cut ``value`` to ``limit`` characters, saying how much was dropped.

    ``keep_end`` keeps the tail instead of the head (used for stack traces, whose most
    useful frames are the last ones printed).
    """
    if len(value) <= limit:
        return value
    # The result, marker included, fits in ``limit`` so a second pass (the server after
    # the SDK) leaves it unchanged instead of stacking markers.
    keep = max(limit - len(TRUNCATION_MARKER) - 12, 0)
    marker = TRUNCATION_MARKER.format(dropped=len(value) - keep)
    if keep_end:
        return marker + value[len(value) - keep :]
    return value[:keep] + marker


#: Structured exceptions (the ``exception`` key, see :mod:`tracehub.stacktrace`): exceptions
#: kept per chain (the last ones: the raised exception is last), frames per exception (the
#: first and last halves: the entry point and the raise site), lines of source context
#: before and after the failing line, characters per source line, local variables per
#: frame and characters per variable's ``repr``.
MAX_EXCEPTIONS_PER_CHAIN = 20
MAX_FRAMES_PER_EXCEPTION = 100
SOURCE_CONTEXT_LINES = 5
MAX_CONTEXT_LINE_CHARS = 300
MAX_VARS_PER_FRAME = 50
MAX_VAR_CHARS = 200
#: Bytes of one entry's ``exception`` once serialised; over it the server drops source
#: context and variables, then frames from the middle, until it fits.
MAX_EXCEPTION_BYTES = 131_072
#: Parts of a custom ``fingerprint``, and characters per part.
MAX_FINGERPRINT_PARTS = 16
MAX_FINGERPRINT_PART_CHARS = 256
