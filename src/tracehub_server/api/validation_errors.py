"""FastAPI's 422 answer, without the submitted values.

FastAPI's default 422 echoes each invalid value (``input``), so a login with a password of
the wrong type or length, or a body with a misplaced token, would be written back into the
response -- and into every log or proxy that records responses. This handler keeps the
location, message and type of each error, and never the value.
"""

from __future__ import annotations

from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse


async def validation_error(request: Request, exc: Exception) -> JSONResponse:
    """422 with FastAPI's error list minus each error's ``input``."""
    if not isinstance(exc, RequestValidationError):  # registered for that class alone
        raise exc
    errors = [{k: v for k, v in error.items() if k != "input"} for error in exc.errors()]
    return JSONResponse({"detail": jsonable_encoder(errors)}, status_code=422)
