"""``/api/v1/tokens``: your personal access tokens (the plaintext is shown once)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from fastapi import APIRouter, Response
from pydantic import BaseModel, ConfigDict, Field

from tracehub_server.api.query.deps import CurrentUser, forbidden, not_found, unprocessable
from tracehub_server.api.query.routing import LimitedBodyRoute
from tracehub_server.api.query.schemas import AUTH_ERRORS, NewTokenOut, TokenOut
from tracehub_server.auth import tokens
from tracehub_server.storage import tokens as token_store
from tracehub_server.storage.tokens import AccessToken
from tracehub_server.web_deps import PoolDep

router = APIRouter(
    prefix="/tokens", tags=["tokens"], route_class=LimitedBodyRoute, responses=AUTH_ERRORS
)


class NewToken(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(default="", max_length=800)
    expires_in_days: int = Field(default=tokens.DEFAULT_LIFETIME.days, ge=1, le=3650)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def token_dict(token: AccessToken) -> dict[str, Any]:
    return {
        "id": token.id,
        "name": token.name,
        "prefix": token.prefix,
        "created_at": token.created_at.isoformat(),
        "expires_at": _iso(token.expires_at),
        "last_used_at": _iso(token.last_used_at),
        "revoked_at": _iso(token.revoked_at),
    }


@router.get("", response_model=list[TokenOut], summary="Your tokens, newest first (prefixes only).")
async def list_tokens(principal: CurrentUser, pool: PoolDep) -> list[dict[str, Any]]:
    async with pool.acquire() as conn:
        return [token_dict(t) for t in await token_store.list_tokens(conn, principal.user.id)]


@router.post(
    "",
    response_model=NewTokenOut,
    status_code=201,
    summary="Create a token (session only; 90 days by default); its value is shown only now.",
)
async def create_token(body: NewToken, principal: CurrentUser, pool: PoolDep) -> dict[str, Any]:
    if principal.session is None:
        raise forbidden("create tokens from a logged-in session, not with another token")
    expires_at = datetime.now(timezone.utc) + timedelta(days=body.expires_in_days)
    async with pool.acquire() as conn:
        try:
            token, plaintext = await tokens.create_token(
                conn, principal.user.id, name=body.name, expires_at=expires_at
            )
        except ValueError as error:
            raise unprocessable("name", str(error), where="body") from None
    return {**token_dict(token), "token": plaintext}


@router.delete("/{token_id}", status_code=204, summary="Revoke one of your tokens.")
async def revoke_token(token_id: int, principal: CurrentUser, pool: PoolDep) -> Response:
    async with pool.acquire() as conn:
        if not await token_store.revoke_token(conn, token_id, user_id=principal.user.id):
            raise not_found("token")
    return Response(status_code=204)
