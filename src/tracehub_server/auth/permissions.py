"""Who may do what: roles admin, member and viewer.

- **admin** (``users.is_admin``): everything — every project, users, memberships.
- **member** of a project: read it, change its issues' status and assignee, manage its API keys.
- **viewer** of a project: read it, nothing else.

Every route asks an :class:`Access` before touching a project's data. Routes answer 404 for a
project the user cannot read (so ids of other projects are not confirmed to exist) and 403
when they can read it but not change it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import asyncpg

from tracehub_server.storage import projects as project_store
from tracehub_server.storage import users as user_store
from tracehub_server.storage.users import Role, User


@dataclass(frozen=True, slots=True)
class Access:
    """A user's rights, loaded once per request by :func:`load_access`."""

    user: User
    roles: Mapping[int, Role] = field(default_factory=dict)
    #: For admins, every project id at load time; for others, the projects they belong to.
    readable: frozenset[int] = frozenset()

    @property
    def is_admin(self) -> bool:
        return self.user.is_admin

    def can_read(self, project_id: int) -> bool:
        """True when the user may see the project's logs, issues, stats and keys."""
        return self.is_admin or project_id in self.roles

    def can_write(self, project_id: int) -> bool:
        """True when the user may change issues and manage API keys of the project."""
        return self.is_admin or self.roles.get(project_id) == "member"

    def role(self, project_id: int) -> str | None:
        """``"admin"``, ``"member"``, ``"viewer"`` or None, as shown in listings."""
        if self.is_admin:
            return "admin"
        return self.roles.get(project_id)

    def readable_project_ids(self) -> list[int]:
        """Every project the user may read, sorted."""
        return sorted(self.readable)


async def load_access(conn: asyncpg.Connection, user: User) -> Access:
    """The user's rights as of now."""
    roles = await user_store.memberships(conn, user.id)
    if user.is_admin:
        readable = frozenset(p.id for p in await project_store.list_projects(conn))
    else:
        readable = frozenset(roles)
    return Access(user=user, roles=roles, readable=readable)
