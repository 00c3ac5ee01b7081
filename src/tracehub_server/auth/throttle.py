"""Failed-login slow-down per (email, client address), shared by every server process.

The first :data:`FREE_ATTEMPTS` failures cost nothing; after that each further attempt for
the same email from the same address must wait ``2 ** (failures - FREE_ATTEMPTS)`` seconds
(capped at :data:`MAX_DELAY`) after the previous one, and is refused with 429 and
``Retry-After`` until then. A success resets the count; a quiet :data:`WINDOW` forgets it.

An attempt is counted *before* the password is checked, so many concurrent guesses cannot
all slip through while argon2 runs. The counts live in PostgreSQL (``login_throttle``), one
row per (email, address), counted by one atomic statement: every API process
(``--workers N``) sees the same schedule, and no number of invented emails can push an
attacked account's row out, as an in-memory table with a size bound could. The table stays
small because rows quiet for a :data:`WINDOW` are purged (``auth.purge``).

The same throttle guards the current-password check of password changes (key
:func:`password_change_key`), so a stolen session cannot guess the password unhindered.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import datetime, timedelta, timezone

import asyncpg
from starlette.requests import Request

from tracehub_server.storage import login_throttle as rows

FREE_ATTEMPTS = 5
MAX_DELAY = 900.0
WINDOW = 900.0


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


class LoginThrottle:
    """Counts login attempts per (email, address) in the database; says how long to wait."""

    def __init__(
        self,
        *,
        free_attempts: int = FREE_ATTEMPTS,
        max_delay: float = MAX_DELAY,
        window: float = WINDOW,
        clock: Callable[[], datetime] = _utcnow,
    ) -> None:
        self._free = free_attempts
        self._max_delay = max_delay
        self._window = window
        self._clock = clock

    @staticmethod
    def key(email: str, client_ip: str) -> tuple[str, str]:
        """The stored key: a digest of the folded email (whatever bytes were typed, and no
        plaintext list of the addresses people tried) and the address."""
        folded = str(email).strip().lower()[:320].encode("utf-8", "surrogatepass")
        return hashlib.sha256(folded).hexdigest(), str(client_ip)[:64].replace("\0", "")

    def _delay(self, failures: int) -> float:
        if failures < self._free:
            return 0.0
        return min(2.0 ** min(failures - self._free, 30), self._max_delay)

    async def attempt(self, conn: asyncpg.Connection, email: str, client_ip: str) -> float:
        """Register an attempt; returns 0 when it may proceed, else seconds to wait."""
        email, client = self.key(email, client_ip)
        now = self._clock()
        counted, failures, last = await rows.count_attempt(
            conn,
            email=email,
            client=client,
            now=now,
            free_attempts=self._free,
            max_delay=self._max_delay,
            window=self._window,
        )
        if counted:
            return 0.0
        return max((last - now).total_seconds() + self._delay(failures), 0.001)

    async def succeeded(self, conn: asyncpg.Connection, email: str, client_ip: str) -> None:
        """Forget the key's failures after a correct password."""
        email, client = self.key(email, client_ip)
        await rows.forget(conn, email=email, client=client)

    async def purge(self, conn: asyncpg.Connection) -> int:
        """Delete the counts of keys quiet for longer than the window; returns how many."""
        return await rows.delete_quiet(conn, before=self._clock() - timedelta(seconds=self._window))


def password_change_key(user_id: int) -> str:
    """The throttle's "email" for a user's current-password checks (cannot clash with one)."""
    return f"#password-change:{user_id}"


def client_ip(request: Request) -> str:
    """The peer address: a proxy's ``X-Forwarded-For`` only when the proxy is trusted.

    uvicorn rewrites ``request.client`` from forwarded headers only for the addresses in
    ``TRACEHUB_TRUSTED_PROXIES`` (see ``cli/serve.py``), so a client cannot pick its own.
    """
    return request.client.host if request.client else "unknown"


def get_throttle(request: Request) -> LoginThrottle:
    """The app's throttle, shared by the JSON login and the dashboard's login form."""
    state = request.app.state
    throttle = getattr(state, "login_throttle", None)
    if throttle is None:
        throttle = LoginThrottle()
        state.login_throttle = throttle
    return throttle
