"""deflate and brotli bodies (Sentry SDKs send them) under the same caps as gzip."""

from __future__ import annotations

import zlib
from collections.abc import AsyncIterator

import brotli
import pytest

from tracehub_server.api.body import BodyError, content_coding, read_body

DATA = b'{"items": [' + b'"x",' * 5000 + b'"y"]}'


async def _chunks(data: bytes, size: int = 997) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


@pytest.mark.parametrize(
    ("coding", "compress"),
    [("deflate", zlib.compress), ("br", brotli.compress), ("gzip", None)],
)
async def test_each_coding_round_trips(coding, compress) -> None:
    """deflate (zlib-wrapped), brotli and gzip bodies come back whole, chunk by chunk."""
    import gzip

    packed = (compress or gzip.compress)(DATA)
    assert await read_body(_chunks(packed), encoding=coding) == DATA


@pytest.mark.parametrize("coding", ["deflate", "br"])
async def test_bombs_are_refused(coding) -> None:
    """A deflate or brotli bomb is refused once inflation passes the limit."""
    raw = b"\0" * 30_000_000
    packed = zlib.compress(raw, 9) if coding == "deflate" else brotli.compress(raw, quality=5)
    with pytest.raises(BodyError) as caught:
        await read_body(_chunks(packed, 65536), encoding=coding, max_decompressed=1_000_000)
    assert caught.value.status == 413


@pytest.mark.parametrize("coding", ["deflate", "br"])
async def test_broken_and_truncated_streams_are_400(coding) -> None:
    """Garbage or a cut stream is a 400 naming the coding."""
    packed = zlib.compress(DATA) if coding == "deflate" else brotli.compress(DATA)
    for body in (b"\xff\xfe garbage" * 3, packed[: len(packed) // 2]):
        with pytest.raises(BodyError) as caught:
            await read_body(_chunks(body), encoding=coding)
        assert caught.value.status == 400
        assert coding in caught.value.message


def test_content_coding_accepts_only_what_the_endpoint_takes() -> None:
    """Names are normalised; a coding the endpoint does not take is 415."""
    accepted = frozenset({"gzip", "br"})
    assert content_coding(" BR ", accepted) == "br"
    assert content_coding("x-gzip", accepted) == "gzip"
    assert content_coding("identity", accepted) is None
    assert content_coding(None, accepted) is None
    with pytest.raises(BodyError) as caught:
        content_coding("deflate", accepted)
    assert caught.value.status == 415
