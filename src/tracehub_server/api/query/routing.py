"""A route class that caps JSON request bodies before FastAPI parses them.

Every body this API accepts (a login, a project name, an issue patch) is tiny, so anything
above :data:`MAX_JSON_BODY_BYTES` is refused with 413 while it streams in, never buffered
whole.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import HTTPException, Request, Response
from fastapi.routing import APIRoute

MAX_JSON_BODY_BYTES = 64 * 1024


class LimitedBodyRoute(APIRoute):
    """An APIRoute whose handler reads at most :data:`MAX_JSON_BODY_BYTES` of body."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def limited(request: Request) -> Response:
            if request.method in ("POST", "PUT", "PATCH", "DELETE"):
                await _read_capped(request)
            return await handler(request)

        return limited


async def _read_capped(request: Request) -> None:
    declared = request.headers.get("content-length")
    if declared is not None and (
        not (declared.isascii() and declared.isdigit()) or int(declared) > MAX_JSON_BODY_BYTES
    ):
        raise HTTPException(413, detail=f"request body over {MAX_JSON_BODY_BYTES} bytes")
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > MAX_JSON_BODY_BYTES:
            raise HTTPException(413, detail=f"request body over {MAX_JSON_BODY_BYTES} bytes")
    # Starlette's Request.body() returns this cached copy to FastAPI's parser.
    request._body = bytes(body)
