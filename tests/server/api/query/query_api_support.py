"""Types shared by the query API tests and their fixtures (a uniquely named module)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field


@dataclass
class Seat:
    """A user of the test world and the ways they can authenticate."""

    id: int
    email: str
    token: str
    session: str = ""
    csrf: str = ""

    @property
    def bearer(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@dataclass
class World:
    """Two projects (A: seeded; B: another team's) and users of every role."""

    a: int
    b: int
    a_name: str
    admin: Seat
    member: Seat
    viewer: Seat
    outsider: Seat
    logs: dict[str, uuid.UUID] = field(default_factory=dict)
    issues: dict[str, int] = field(default_factory=dict)
