"""``/api/v1/users`` (admins): list users and create them."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, ConfigDict, Field

from tracehub_server.api.query.deps import AdminUser, unprocessable
from tracehub_server.api.query.routing import LimitedBodyRoute
from tracehub_server.api.query.schemas import AUTH_ERRORS, ErrorOut, UserOut
from tracehub_server.auth.passwords import (
    MAX_PASSWORD_LENGTH,
    check_new_password,
    hash_password_off_loop,
)
from tracehub_server.storage import users as user_store
from tracehub_server.storage.users import User
from tracehub_server.web_deps import PoolDep

router = APIRouter(
    prefix="/users", tags=["users"], route_class=LimitedBodyRoute, responses=AUTH_ERRORS
)

_TAKEN: dict[int | str, dict[str, Any]] = {
    409: {"model": ErrorOut, "description": "The name is already taken"}
}


class NewUser(BaseModel):
    model_config = ConfigDict(extra="forbid")
    email: str = Field(max_length=1000)
    password: str = Field(max_length=MAX_PASSWORD_LENGTH * 4)
    is_admin: bool = False


def user_dict(user: User) -> dict[str, Any]:
    return {
        "id": user.id,
        "email": user.email,
        "is_admin": user.is_admin,
        "created_at": user.created_at.isoformat(),
        "last_login_at": user.last_login_at.isoformat() if user.last_login_at else None,
    }


@router.get("", response_model=list[UserOut], summary="Every user (admins).")
async def list_users(principal: AdminUser, pool: PoolDep) -> list[dict[str, Any]]:
    async with pool.acquire() as conn:
        return [user_dict(u) for u in await user_store.list_users(conn)]


@router.post(
    "", response_model=UserOut, status_code=201, responses=_TAKEN, summary="Create a user (admins)."
)
async def create_user(body: NewUser, principal: AdminUser, pool: PoolDep) -> dict[str, Any]:
    try:
        email = user_store.normalize_email(body.email)
    except ValueError as error:
        raise unprocessable("email", str(error), where="body") from None
    try:
        check_new_password(body.password, email=email)
        password_hash = await hash_password_off_loop(body.password)
    except ValueError as error:
        raise unprocessable("password", str(error), where="body") from None
    async with pool.acquire() as conn:
        try:
            user = await user_store.create_user(conn, email, password_hash, is_admin=body.is_admin)
        except user_store.DuplicateUserError as error:
            raise HTTPException(409, detail=str(error)) from None
    return user_dict(user)
