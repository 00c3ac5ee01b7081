"""CORS for the ingest endpoints, as Sentry's Relay answers it: browsers post from any page.

A browser SDK (``@sentry/browser``) posts envelopes from the application's own origin to
ours. Any origin is allowed: ingestion is authorised by the DSN's public key, never by
cookies (none are read, and credentials are not allowed), so a page can do nothing with
the endpoints that anyone holding the key could not. A preflight (``OPTIONS``) is answered
without looking at the key; every other answer -- a 4xx, a 429 and a 503 included -- carries
``Access-Control-Allow-Origin`` and exposes the headers an SDK reads (else the browser hides
the rate limits from it and it keeps sending).
"""

from __future__ import annotations

#: Request headers a browser SDK (or a tunnel) may send: Relay's list, plus the
#: tracing headers an application's own fetch instrumentation may add.
ALLOWED_HEADERS = (
    "x-sentry-auth", "x-requested-with", "x-forwarded-for", "origin", "referer", "accept",
    "content-type", "authentication", "authorization", "content-encoding",
    "transfer-encoding", "sentry-trace", "baggage",
)  # fmt: skip
#: Response headers the SDK reads: why a request was refused, and when to send again.
EXPOSED_HEADERS = ("x-sentry-error", "x-sentry-rate-limits", "retry-after")
#: Seconds a browser may cache a preflight (Relay's).
MAX_AGE_SECONDS = 3600

#: Added to every answer that is not a preflight.
RESPONSE_HEADERS: list[tuple[bytes, bytes]] = [
    (b"access-control-allow-origin", b"*"),
    (b"access-control-expose-headers", ", ".join(EXPOSED_HEADERS).encode()),
]
#: The whole answer to a preflight (status 200, empty body).
PREFLIGHT_HEADERS: list[tuple[bytes, bytes]] = [
    (b"access-control-allow-origin", b"*"),
    (b"access-control-allow-methods", b"POST"),
    (b"access-control-allow-headers", ", ".join(ALLOWED_HEADERS).encode()),
    (b"access-control-max-age", b"%d" % MAX_AGE_SECONDS),
    (b"content-length", b"0"),
]
