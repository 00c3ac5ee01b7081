"""Trace ids at the edge of a request: read, validate, generate, bind.

Every framework integration answers the same question the same way, so the answer
lives here once: an incoming ``X-Trace-ID`` wins if it is well formed, else the
trace id of a W3C ``traceparent`` header, else a freshly generated id. Incoming ids
are validated (1-128 characters from ``[A-Za-z0-9._:-]``) because they are echoed
in a response header and stored with every log line: a client must not be able to
inject header-splitting bytes, markup or megabytes through them. An invalid id is
ignored, not repaired, so what is stored is always exactly what a client sent.

Generated ids are 32 lowercase hex characters, the W3C trace-id format, so a
TraceHub id can be handed on to an OpenTelemetry system unchanged. They come from a
private :class:`random.Random` seeded from ``os.urandom`` (reseeded in a forked child):
about five times cheaper per request than ``os.urandom(16)``, which is a system call.
A trace id is a correlation key, not a secret — clients may send their own — so a
non-cryptographic generator is enough; being private, it never disturbs the
application's own ``random`` sequence (say, one seeded for reproducible tests). They
are made 64 at a time and handed out one per request (see :func:`_refill_generated`).

Everything here runs once per request in every integration, so the common cases are
checked first with single C-level calls (``isalnum``) before any regular expression.
"""

from __future__ import annotations

import os
import random
import re
from collections.abc import Iterable, Mapping
from contextvars import Token
from typing import Any

from tracehub import enricher
from tracehub.limits import MAX_TRACE_ID_CHARS

__all__ = [
    "TRACEPARENT_HEADER",
    "TRACE_ID_HEADER",
    "asgi_trace_id",
    "bind_trace_id",
    "generate_trace_id",
    "parse_traceparent",
    "resolve_trace_id",
    "trace_id_from_environ",
    "unbind_trace_id",
    "valid_trace_id",
]

#: The header read from requests and set on responses.
TRACE_ID_HEADER = "X-Trace-ID"
#: The W3C Trace Context header whose trace-id is used when ``X-Trace-ID`` is absent.
TRACEPARENT_HEADER = "traceparent"

_TRACE_ID_RE = re.compile(rf"[A-Za-z0-9._:\-]{{1,{MAX_TRACE_ID_CHARS}}}")
# The same alphabet for bytes.translate(None, delete): what is left over is forbidden.
_ID_ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._:-"
# version-traceid-parentid-flags; future versions may append "-more" fields.
_TRACEPARENT_RE = re.compile(r"([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?")
_ZERO_TRACE_ID = "0" * 32
_ZERO_PARENT_ID = "0" * 16
# A traceparent is 55 characters; anything far longer is hostile, not a future version.
_MAX_TRACEPARENT_CHARS = 512

_ASGI_TRACE_ID = TRACE_ID_HEADER.lower().encode("ascii")
_ASGI_TRACEPARENT = TRACEPARENT_HEADER.encode("ascii")
# One membership test per header instead of two comparisons: the scan is per request.
_ASGI_WANTED = frozenset((_ASGI_TRACE_ID, _ASGI_TRACEPARENT))


_random = random.Random()  # seeded from os.urandom
_random_bits = _random.getrandbits

#: How many ids one refill of the pool makes.
_GENERATED_BATCH = 64
# Ids made ahead, as (str to bind, bytes to echo); taken with one C-level pop.
_generated: list[tuple[str, bytes]] = []
_take_generated = _generated.pop


def _refill_generated() -> tuple[str, bytes]:
    """Make a batch of ids, keep all but one in the pool, and return that one.

    Why a pool: inside a request, where little of this module is in the CPU's caches,
    formatting an id (draw, ``to_bytes``, ``hex``, ``encode``) measured about 1 µs, several
    times its cost in a tight loop; a ``list.pop`` is one C call. ``pop`` and ``extend``
    are atomic, so threads share the pool safely (two refilling at once just make more);
    a forked child empties it, so it never hands out its parent's ids.
    """
    batch = []
    for _ in range(_GENERATED_BATCH):
        # All zeros is the one invalid W3C trace-id; ``or 1`` rules it out.
        trace_id = (_random_bits(128) or 1).to_bytes(16, "big").hex()
        batch.append((trace_id, trace_id.encode("ascii")))
    _generated.extend(batch[1:])
    return batch[0]


def _new_trace_id() -> tuple[str, bytes]:
    """A fresh id from the pool, as ``str`` and ``bytes``."""
    try:
        return _take_generated()
    except IndexError:
        return _refill_generated()


def generate_trace_id() -> str:
    """Return a new random W3C-compatible trace id (32 lowercase hex characters)."""
    return _new_trace_id()[0]


def valid_trace_id(value: str | None) -> str | None:
    """Return ``value`` if it is an acceptable client-supplied trace id, else ``None``."""
    if not isinstance(value, str) or len(value) > MAX_TRACE_ID_CHARS:
        return None
    if value.isascii() and value.isalnum():  # hex and most ids: no regex needed
        return value
    return value if _TRACE_ID_RE.fullmatch(value) else None


def parse_traceparent(value: str | None) -> str | None:
    """Return the trace-id of a W3C ``traceparent`` header, or ``None`` if it is invalid.

    Follows the Trace Context rules a receiver must apply: version ``ff`` is invalid,
    version ``00`` has exactly four fields, and all-zero trace or parent ids are invalid.
    """
    if value is None or len(value) > _MAX_TRACEPARENT_CHARS:
        return None
    match = _TRACEPARENT_RE.fullmatch(value.strip())
    if match is None:
        return None
    version, trace_id, parent_id, _flags, rest = match.groups()
    if version == "ff" or (version == "00" and rest is not None):
        return None
    if trace_id == _ZERO_TRACE_ID or parent_id == _ZERO_PARENT_ID:
        return None
    return trace_id


def resolve_trace_id(x_trace_id: str | None, traceparent: str | None) -> str:
    """Pick the request's trace id: valid ``X-Trace-ID``, else traceparent's, else a new one."""
    # Absent headers (the common case) cost no call at all.
    if x_trace_id is not None and (trace_id := valid_trace_id(x_trace_id)) is not None:
        return trace_id
    if traceparent is not None and (trace_id := parse_traceparent(traceparent)) is not None:
        return trace_id
    return _new_trace_id()[0]


def asgi_trace_id(headers: Iterable[tuple[bytes, bytes]]) -> tuple[str, bytes]:
    """Resolve the trace id from raw ASGI headers, as ``str`` (to bind) and ``bytes`` (to echo).

    ASGI header names are lowercase bytes. The id is validated as bytes, so anything
    outside plain ASCII is refused before it is ever decoded. A repeated header keeps
    its first value: later copies are easier to smuggle in. Returning both forms saves the
    middleware a decode or an encode per request.
    """
    found: bytes | None = None  # b"": the first X-Trace-ID was invalid, ignore later ones
    traceparent: bytes | None = None
    for name, value in headers:
        if name in _ASGI_WANTED:  # one set lookup per header: the scan is per request
            if name == _ASGI_TRACE_ID:
                if found is None:
                    if 0 < len(value) <= MAX_TRACE_ID_CHARS and (
                        value.isalnum() or not value.translate(None, _ID_ALPHABET)
                    ):
                        return value.decode("ascii"), value  # no need to look further
                    found = b""
            elif traceparent is None:
                traceparent = value
    if traceparent is not None:
        trace_id = parse_traceparent(traceparent.decode("latin-1"))
        if trace_id is not None:
            return trace_id, trace_id.encode("ascii")
    try:  # _new_trace_id() inlined: this is the path of most requests
        return _take_generated()
    except IndexError:
        return _refill_generated()


def trace_id_from_environ(environ: Mapping[str, Any]) -> str:
    """Resolve the trace id from a WSGI environ (or Django's ``request.META``).

    The rules are :func:`resolve_trace_id`'s; the common cases (no header, or an
    alphanumeric id) are decided here without a further call.
    """
    x_trace_id = environ.get("HTTP_X_TRACE_ID")
    if x_trace_id is None:
        traceparent = environ.get("HTTP_TRACEPARENT")
        if traceparent is None or (trace_id := parse_traceparent(traceparent)) is None:
            return _new_trace_id()[0]
        return trace_id
    if (
        x_trace_id.__class__ is str
        and len(x_trace_id) <= MAX_TRACE_ID_CHARS
        and x_trace_id.isalnum()
        and x_trace_id.isascii()
    ):
        return x_trace_id
    return resolve_trace_id(x_trace_id, environ.get("HTTP_TRACEPARENT"))


def bind_trace_id(trace_id: str) -> Token[str | None]:
    """Make ``trace_id`` the current context's trace id; pass the result to unbind."""
    return enricher.set_trace_id(trace_id)


def unbind_trace_id(token: Token[str | None]) -> None:
    """Restore the trace id that was current before the matching :func:`bind_trace_id`."""
    enricher.reset_trace_id(token)


def _forget_parent_ids() -> None:
    """In a forked child: reseed, and drop the ids made ahead by the parent."""
    _random.seed()
    _generated.clear()


if hasattr(os, "register_at_fork"):
    # A child must not repeat its parent's (or its siblings') sequence of ids.
    os.register_at_fork(after_in_child=_forget_parent_ids)
