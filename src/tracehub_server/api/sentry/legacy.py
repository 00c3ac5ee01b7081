"""Store bodies of the raven era: base64 text of zlib-compressed JSON, without a header.

raven-python (and SDKs modelled on it) posted ``base64(zlib(json))`` to ``/store/`` as
``application/octet-stream`` with no ``Content-Encoding``, so the body reader passes it on
untouched; Sentry recognised it by its first byte not being ``{``, as :func:`event_json`
does. Inflating is bounded by the native decompressed-size limit (413 beyond it).
"""

from __future__ import annotations

import binascii
import zlib

from tracehub.limits import MAX_DECOMPRESSED_BYTES
from tracehub_server.api.ingest import Refusal


def event_json(body: bytes) -> bytes:
    """The JSON text of a store body: as sent, or decoded from base64 and inflated."""
    text = body.lstrip()
    if text[:1] in (b"{", b""):
        return body
    try:
        data = binascii.a2b_base64(text)
    except binascii.Error:
        return body  # not base64 either: the JSON parser says what is wrong with it
    if data.lstrip()[:1] == b"{":
        return data
    inflater = zlib.decompressobj()
    try:
        event = inflater.decompress(data, MAX_DECOMPRESSED_BYTES + 1)
    except zlib.error as exc:
        raise Refusal(400, f"body is neither JSON nor base64 of zlib data: {exc}") from None
    if len(event) > MAX_DECOMPRESSED_BYTES:
        raise Refusal(413, f"the event inflates beyond {MAX_DECOMPRESSED_BYTES} bytes")
    if not inflater.eof:
        raise Refusal(400, "the base64 zlib body is truncated")
    return event
