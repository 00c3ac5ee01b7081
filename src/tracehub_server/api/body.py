"""Reading an ingest body within the size limits, inflating gzip incrementally.

Both limits are enforced while the body arrives: the compressed size as bytes are received
(or at once from ``Content-Length``), the decompressed size by ``decompressobj`` with
``max_length``, so a gzip bomb inflates at most one byte past the limit before it is refused.
"""

from __future__ import annotations

import zlib
from collections.abc import AsyncIterator

from tracehub.limits import MAX_BODY_BYTES, MAX_DECOMPRESSED_BYTES

_GZIP_WBITS = 16 + zlib.MAX_WBITS


class BodyError(Exception):
    """The body cannot be accepted; ``status`` is the HTTP status to answer with."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def encoding_is_gzip(content_encoding: str | None) -> bool:
    """True for gzip, False for none/identity; raises :class:`BodyError` (415) otherwise."""
    if not content_encoding:
        return False
    value = content_encoding.strip().lower()
    if value in ("gzip", "x-gzip"):
        return True
    if value == "identity":
        return False
    raise BodyError(
        415, f"unsupported Content-Encoding {content_encoding[:40]!r}; send gzip or none"
    )


def check_content_length(header: str | None, *, max_bytes: int = MAX_BODY_BYTES) -> None:
    """Refuse a declared oversized body before reading it."""
    if header is None:
        return
    try:
        declared = int(header)
    except ValueError:
        raise BodyError(400, "Content-Length is not a number") from None
    if declared > max_bytes:
        raise BodyError(413, f"body is {declared} bytes; the limit is {max_bytes} bytes")


async def read_body(
    chunks: AsyncIterator[bytes],
    *,
    gzip: bool,
    max_bytes: int = MAX_BODY_BYTES,
    max_decompressed: int = MAX_DECOMPRESSED_BYTES,
) -> bytes:
    """The (decompressed) body, or :class:`BodyError` with the status to answer."""
    inflater = zlib.decompressobj(_GZIP_WBITS) if gzip else None
    parts: list[bytes] = []
    received = 0
    produced = 0
    async for chunk in chunks:
        if not chunk:
            continue
        received += len(chunk)
        if received > max_bytes:
            raise BodyError(413, f"body exceeds the limit of {max_bytes} bytes")
        if inflater is None:
            parts.append(chunk)
            continue
        if inflater.eof:
            raise BodyError(400, "unexpected data after the end of the gzip stream")
        budget = max_decompressed - produced
        try:
            out = inflater.decompress(chunk, budget + 1)
        except zlib.error as exc:
            raise BodyError(400, f"body is not valid gzip: {exc}") from None
        produced += len(out)
        if produced > max_decompressed:
            raise BodyError(413, f"decompressed body exceeds the limit of {max_decompressed} bytes")
        parts.append(out)
    if inflater is not None:
        if received == 0:
            raise BodyError(400, "body is empty; send a JSON array of log entries")
        if not inflater.eof:
            raise BodyError(400, "body is not valid gzip: the stream is truncated")
        if inflater.unused_data:
            raise BodyError(400, "unexpected data after the end of the gzip stream")
    return b"".join(parts)
