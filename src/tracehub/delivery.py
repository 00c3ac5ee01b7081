"""One request's worth of delivery: cutting, sending without trusting the transport, reporting.

Shared by live delivery (:mod:`tracehub.batcher`) and dead-letter replay
(:mod:`tracehub.replay`), so both cut requests by the same budget and treat a broken
transport the same way.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

from tracehub import _diagnostics
from tracehub.limits import MAX_ENTRIES_PER_BATCH, SDK_BATCH_BYTE_BUDGET
from tracehub.models import SendResult

if TYPE_CHECKING:
    from tracehub.transport import Transport

__all__ = ["report_refused", "send_chunk", "split_by_budget"]


def split_by_budget(
    entries: Sequence[bytes], budget: int = SDK_BATCH_BYTE_BUDGET
) -> Iterator[list[bytes]]:
    """Cut encoded entries into request-sized chunks (by count and by bytes)."""
    chunk: list[bytes] = []
    size = 2  # the brackets of the JSON array
    for entry in entries:
        if chunk and (size + len(entry) + 1 > budget or len(chunk) >= MAX_ENTRIES_PER_BATCH):
            yield chunk
            chunk, size = [], 2
        chunk.append(entry)
        size += len(entry) + 1
    if chunk:
        yield chunk


def send_chunk(transport: Transport, chunk: list[bytes], deadline: float) -> SendResult:
    """Call the transport; an exception or a wrong answer means nothing was delivered."""
    try:
        result = transport.send(chunk, deadline=deadline)
    except Exception as exc:
        _diagnostics.report(
            "transport-send", f"transport.send raised (a bug in the transport): {exc!r}"
        )
        return SendResult(undelivered=list(chunk))
    if not isinstance(result, SendResult):
        _diagnostics.report(
            "transport-result", f"transport.send returned {type(result).__name__}, "
            "not SendResult: treated as undelivered",
        )  # fmt: skip
        return SendResult(undelivered=list(chunk))
    return result


def report_refused(result: SendResult) -> None:
    """Say once (a minute) that the server refused entries; never under a lock."""
    if result.refused:
        _diagnostics.report(
            "refused",
            f"ingest refused {result.refused} entries of a batch (not retried, counted "
            f"in stats().rejected): {result.refused_detail}",
        )
