"""Who is calling: the auth dependencies of the JSON query API.

A request authenticates with either ``Authorization: Bearer thp_…`` (a personal access
token) or the dashboard's session cookie. Cookie-authenticated requests with a
state-changing method (POST, PUT, PATCH, DELETE) must also send the session's CSRF token in
``X-CSRF-Token``; bearer requests need not (a browser never attaches them by itself).

Answers: 401 without valid credentials (unknown, expired or revoked), 403 on a missing or
wrong CSRF token.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

import asyncpg
from fastapi import Depends, HTTPException, Request, status

from tracehub_server.auth import sessions, tokens
from tracehub_server.auth.permissions import Access, load_access
from tracehub_server.auth.sessions import Session
from tracehub_server.storage import projects as project_store
from tracehub_server.storage.projects import Project
from tracehub_server.storage.users import User
from tracehub_server.web_deps import PoolDep

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True, slots=True)
class Principal:
    """The authenticated caller: their rights, and their session when it is a cookie login."""

    access: Access
    session: Session | None
    session_token: str | None = None

    @property
    def user(self) -> User:
        return self.access.user


def _unauthorized(message: str) -> HTTPException:
    return HTTPException(
        status.HTTP_401_UNAUTHORIZED, detail=message, headers={"WWW-Authenticate": "Bearer"}
    )


async def get_principal(request: Request, pool: PoolDep) -> Principal:
    header = request.headers.get("authorization")
    async with pool.acquire() as conn:
        if header is not None:
            scheme, _, credential = header.partition(" ")
            if scheme.lower() != "bearer" or not credential.strip():
                raise _unauthorized("use Authorization: Bearer <personal access token>")
            user = await tokens.authenticate_token(conn, credential.strip())
            if user is None:
                raise _unauthorized("the access token is invalid, expired or revoked")
            return Principal(access=await load_access(conn, user), session=None)
        token = sessions.session_token(request)
        session = await sessions.load_session(conn, token)
        if session is None:
            raise _unauthorized("log in first (session missing or expired) or send a token")
        if request.method not in SAFE_METHODS and not sessions.csrf_matches(
            session, request.headers.get(sessions.CSRF_HEADER)
        ):
            raise HTTPException(
                status.HTTP_403_FORBIDDEN,
                detail=f"missing or wrong {sessions.CSRF_HEADER} header for this session",
            )
        return Principal(
            access=await load_access(conn, session.user), session=session, session_token=token
        )


async def get_admin(principal: Annotated[Principal, Depends(get_principal)]) -> Principal:
    if not principal.access.is_admin:
        raise HTTPException(status.HTTP_403_FORBIDDEN, detail="only admins may do this")
    return principal


CurrentUser = Annotated[Principal, Depends(get_principal)]
AdminUser = Annotated[Principal, Depends(get_admin)]


def not_found(what: str) -> HTTPException:
    return HTTPException(status.HTTP_404_NOT_FOUND, detail=f"{what} not found")


def forbidden(message: str) -> HTTPException:
    return HTTPException(status.HTTP_403_FORBIDDEN, detail=message)


def unprocessable(param: str, message: str, *, where: str = "query") -> HTTPException:
    """A 422 in FastAPI's own validation shape, naming the parameter."""
    return HTTPException(
        422,
        detail=[{"loc": [where, param], "msg": f"{param}: {message}", "type": "value_error"}],
    )


async def readable_project(conn: asyncpg.Connection, access: Access, project_id: int) -> Project:
    """The project if the caller may read it; 404 otherwise (existence is not confirmed)."""
    if not access.can_read(project_id):
        raise not_found("project")
    project = await project_store.get_project(conn, project_id)
    if project is None:
        raise not_found("project")
    return project


async def writable_project(conn: asyncpg.Connection, access: Access, project_id: int) -> Project:
    """The project if the caller may change it; 404 when unreadable, 403 when read-only."""
    project = await readable_project(conn, access, project_id)
    if not access.can_write(project_id):
        raise forbidden("your role in this project is read-only")
    return project


async def resolve_projects(
    conn: asyncpg.Connection, access: Access, given: tuple[str, ...]
) -> list[int]:
    """Project ids from ``project`` values (ids or names); all readable ones when none given.

    A project the caller cannot read answers 404, like a missing one.
    """
    if not given:
        return access.readable_project_ids()
    ids = []
    for value in given:
        project = None
        if value.isascii() and value.isdigit() and len(value) <= 19:
            project = await project_store.get_project(conn, int(value))
        if project is None:
            project = await project_store.get_project_by_name(conn, value)
        if project is None or not access.can_read(project.id):
            raise not_found(f"project {value[:100]!r}")
        ids.append(project.id)
    return ids
