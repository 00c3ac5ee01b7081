"""Refuse state-changing browser requests that come from another origin.

Cookies do not isolate ports, and ``SameSite`` treats every port of a host (and every
subdomain) as the same site, so a page elsewhere on the host could post to the dashboard with
the user's cookies. Browsers say where a request comes from; this pure ASGI middleware refuses
(403) a POST, PUT, PATCH or DELETE when:

* ``Sec-Fetch-Site`` is present and is neither ``same-origin`` nor ``none`` (typed by the
  user), or
* ``Origin`` is present and is not this server's origin (the request's own scheme and
  ``Host``, or ``TRACEHUB_PUBLIC_URL``).

Requests without either header (curl, the SDK, old browsers) and requests with an
``Authorization`` header (a browser never adds one by itself) pass: the session's CSRF token
still guards them. Ingest is dispatched before this middleware and never affected.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import orjson
from starlette.types import ASGIApp, Receive, Scope, Send

_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_SAME_SITE_VALUES = frozenset({b"same-origin", b"none"})


def _origin_of(url: str) -> bytes:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower().encode()


class SameOriginWrites:
    """ASGI middleware: 403 for cross-origin state-changing requests (see the module doc)."""

    def __init__(self, app: ASGIApp, *, public_url: str | None = None) -> None:
        self.app = app
        self._public = _origin_of(public_url) if public_url else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] not in _SAFE_METHODS:
            problem = self._problem(scope)
            if problem:
                await _refuse(send, problem)
                return
        await self.app(scope, receive, send)

    def _problem(self, scope: Scope) -> str | None:
        headers = dict(scope["headers"])
        if b"authorization" in headers:
            return None
        fetch_site = headers.get(b"sec-fetch-site")
        if fetch_site is not None and fetch_site.lower() not in _SAME_SITE_VALUES:
            return f"cross-site request refused (Sec-Fetch-Site: {fetch_site.decode('latin-1')})"
        origin = headers.get(b"origin")
        if origin is None:
            return None
        own = f"{scope.get('scheme', 'http')}://".encode() + headers.get(b"host", b"").lower()
        if origin.lower() in (own, self._public):
            return None
        return "cross-origin request refused (the Origin header is not this site)"


async def _refuse(send: Send, message: str) -> None:
    body = orjson.dumps({"detail": message})
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
    await send({"type": "http.response.start", "status": 403, "headers": headers})
    await send({"type": "http.response.body", "body": body})
