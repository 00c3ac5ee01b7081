"""Who is looking at a page: the session, the user's access, and the project in view.

Every dashboard route depends on :func:`require_page` (or :func:`project_page`), so no route
can forget the checks: no session sends the browser to ``/login``; a project the user cannot
read is a 404 (its existence is not confirmed); a state change the user may not make is a 403.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Annotated

from fastapi import Depends, Request

from tracehub_server.auth import sessions
from tracehub_server.auth.permissions import Access, load_access
from tracehub_server.storage import projects as project_store
from tracehub_server.storage.projects import Project
from tracehub_server.storage.users import User
from tracehub_server.web_deps import PoolDep


class LoginRequired(Exception):
    """No live session: the handler redirects to the login page, remembering ``next_url``."""

    def __init__(self, next_url: str) -> None:
        super().__init__(next_url)
        self.next_url = next_url


class PageError(Exception):
    """An error page (404, 403, 413 …) rendered in the dashboard's layout."""

    def __init__(self, status: int, title: str, message: str) -> None:
        super().__init__(f"{status} {title}: {message}")
        self.status = status
        self.title = title
        self.message = message


def not_found() -> PageError:
    return PageError(404, "Not found", "There is nothing here, or you do not have access to it.")


def forbidden(message: str = "Your role does not allow this change.") -> PageError:
    return PageError(403, "Not allowed", message)


@dataclass(slots=True)
class PageContext:
    """What every page template sees as ``page``."""

    user: User
    csrf: str
    session_token: str
    access: Access
    projects: list[Project]
    project: Project | None = None
    nav: str = "home"

    @property
    def can_write(self) -> bool:
        """True when the user may change the project in view (issues, keys)."""
        return self.project is not None and self.access.can_write(self.project.id)

    @property
    def role(self) -> str | None:
        return self.access.role(self.project.id) if self.project else None


def _requested_path(request: Request) -> str:
    path = request.url.path
    return f"{path}?{request.url.query}" if request.url.query else path


async def require_page(request: Request, pool: PoolDep) -> PageContext:
    """The logged-in user's page context; raises :class:`LoginRequired` without a session."""
    token = sessions.session_token(request)
    async with pool.acquire() as conn:
        session = await sessions.load_session(conn, token)
        if session is None or token is None:
            raise LoginRequired(_requested_path(request) if request.method == "GET" else "/")
        access = await load_access(conn, session.user)
        projects = [p for p in await project_store.list_projects(conn) if access.can_read(p.id)]
    page = PageContext(
        user=session.user,
        csrf=session.csrf_token,
        session_token=token,
        access=access,
        projects=projects,
    )
    request.state.page = page
    return page


Page = Annotated[PageContext, Depends(require_page)]


@dataclass(slots=True)
class ProjectPageContext(PageContext):
    """The context of a page of one project: ``project`` is always set."""

    project: Project


async def project_page(request: Request, project_id: int, page: Page) -> ProjectPageContext:
    """The page context with ``project`` set; 404 unless the user may read that project."""
    project = next((p for p in page.projects if p.id == project_id), None)
    if project is None:
        raise not_found()
    values = {field.name: getattr(page, field.name) for field in fields(page)}
    in_project = ProjectPageContext(**{**values, "project": project})
    request.state.page = in_project
    return in_project


ProjectPage = Annotated[ProjectPageContext, Depends(project_page)]


def require_write(page: PageContext) -> None:
    """403 unless the user may change the project in view."""
    if not page.can_write:
        raise forbidden()


def require_admin(page: PageContext) -> None:
    """404 for non-admins: the admin pages are not advertised to them."""
    if not page.access.is_admin:
        raise not_found()
