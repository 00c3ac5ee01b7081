"""Reading bodies: size caps while streaming, incremental gzip with a hard inflate cap."""

from __future__ import annotations

import gzip
import zlib
from collections.abc import AsyncIterator

import pytest

from tracehub_server.api.body import (
    BodyError,
    check_content_length,
    encoding_is_gzip,
    read_body,
)


async def _chunks(data: bytes, size: int = 1000) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


async def test_plain_and_gzip_bodies_round_trip() -> None:
    """Chunked plain and gzip bodies come back whole."""
    data = b"[" + b"1," * 10_000 + b"1]"
    assert await read_body(_chunks(data), gzip=False) == data
    assert await read_body(_chunks(gzip.compress(data), 7), gzip=True) == data


async def test_bomb_is_refused_after_at_most_limit_plus_one_bytes() -> None:
    """A highly compressed body is refused once inflation passes the limit."""
    bomb = zlib.compressobj(9, zlib.DEFLATED, 31)
    payload = bomb.compress(b"\0" * 50_000_000) + bomb.flush()
    with pytest.raises(BodyError) as caught:
        await read_body(_chunks(payload, 65536), gzip=True, max_decompressed=1_000_000)
    assert caught.value.status == 413


async def test_compressed_size_is_capped_while_streaming() -> None:
    """A body larger than max_bytes is refused before it is all read."""
    with pytest.raises(BodyError) as caught:
        await read_body(_chunks(b"x" * 5000), gzip=False, max_bytes=4000)
    assert caught.value.status == 413


@pytest.mark.parametrize(("header", "status"), [("10", None), ("999999999999", 413), ("abc", 400)])
def test_content_length_is_checked_before_reading(header: str, status: int | None) -> None:
    """A declared oversized or non-numeric Content-Length is refused at once."""
    if status is None:
        check_content_length(header)
        return
    with pytest.raises(BodyError) as caught:
        check_content_length(header)
    assert caught.value.status == status


@pytest.mark.parametrize(
    ("value", "gzip_expected"),
    [(None, False), ("", False), ("identity", False), ("gzip", True), (" GZip ", True)],
)
def test_known_encodings(value: str | None, gzip_expected: bool) -> None:
    """gzip (any case) and identity are understood."""
    assert encoding_is_gzip(value) is gzip_expected


def test_unknown_encoding_is_415() -> None:
    """Other encodings are refused with 415."""
    with pytest.raises(BodyError) as caught:
        encoding_is_gzip("deflate")
    assert caught.value.status == 415
