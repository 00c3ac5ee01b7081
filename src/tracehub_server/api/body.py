"""Reading an ingest body within the size limits, inflating gzip incrementally.

Both limits are enforced while the body arrives: the compressed size as bytes are received
(or at once from ``Content-Length``), the decompressed size by ``decompressobj`` with
``max_length``, so a gzip bomb inflates at most one byte past the limit before it is refused.
The open protocols (Sentry SDKs) also send ``deflate`` and ``br``: :func:`content_coding`
names the coding and ``read_body(encoding=...)`` inflates it under the same caps (brotli's
output cap is approximate: it stops growing its buffer once past the limit).
"""

from __future__ import annotations

import zlib
from collections.abc import AsyncIterator
from typing import Any

from tracehub.limits import MAX_BODY_BYTES, MAX_DECOMPRESSED_BYTES

_GZIP_WBITS = 16 + zlib.MAX_WBITS
# zlib-wrapped ("deflate" as HTTP means it) or gzip, recognised from the header.
_ZLIB_OR_GZIP_WBITS = 32 + zlib.MAX_WBITS
_CODINGS = {"gzip": "gzip", "x-gzip": "gzip", "deflate": "deflate", "br": "br"}


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


def content_coding(content_encoding: str | None, accepted: frozenset[str]) -> str | None:
    """``gzip``, ``deflate`` or ``br`` when accepted, None for none/identity; else 415."""
    if not content_encoding:
        return None
    value = content_encoding.strip().lower()
    if value == "identity":
        return None
    coding = _CODINGS.get(value)
    if coding is None or coding not in accepted:
        names = ", ".join(sorted(accepted))
        raise BodyError(
            415, f"unsupported Content-Encoding {content_encoding[:40]!r}; send {names} or none"
        )
    return coding


class _Brotli:
    """A brotli decompressor with ``decompressobj``'s interface, as far as read_body uses it."""

    def __init__(self) -> None:
        import brotli  # the server extra installs it; imported only for a brotli body

        self._inflater = brotli.Decompressor()
        self._error = brotli.error
        self.unused_data = b""

    @property
    def eof(self) -> bool:
        return bool(self._inflater.is_finished())

    def decompress(self, data: bytes, max_length: int) -> bytes:
        try:
            return bytes(self._inflater.process(data, output_buffer_limit=max_length))
        except self._error as exc:
            raise zlib.error(str(exc) or "invalid brotli data") from None


def _inflater(coding: str | None) -> Any:
    if coding == "gzip":
        return zlib.decompressobj(_GZIP_WBITS)
    if coding == "deflate":
        return zlib.decompressobj(_ZLIB_OR_GZIP_WBITS)
    if coding == "br":
        return _Brotli()
    return None


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
    gzip: bool = False,
    encoding: str | None = None,
    max_bytes: int = MAX_BODY_BYTES,
    max_decompressed: int = MAX_DECOMPRESSED_BYTES,
) -> bytes:
    """The (decompressed) body, or :class:`BodyError` with the status to answer.

    ``encoding`` is a coding named by :func:`content_coding`; ``gzip=True`` means "gzip".
    """
    coding = "gzip" if gzip else encoding
    inflater = _inflater(coding)
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
            raise BodyError(400, f"unexpected data after the end of the {coding} stream")
        budget = max_decompressed - produced
        try:
            out = inflater.decompress(chunk, budget + 1)
        except zlib.error as exc:
            raise BodyError(400, f"body is not valid {coding}: {exc}") from None
        produced += len(out)
        if produced > max_decompressed:
            raise BodyError(413, f"decompressed body exceeds the limit of {max_decompressed} bytes")
        parts.append(out)
    if inflater is not None:
        if received == 0:
            raise BodyError(400, "body is empty; send a JSON array of log entries")
        if not inflater.eof:
            raise BodyError(400, f"body is not valid {coding}: the stream is truncated")
        if inflater.unused_data:
            raise BodyError(400, f"unexpected data after the end of the {coding} stream")
    return b"".join(parts)
