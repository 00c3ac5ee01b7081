"""Failed-login slow-down per (email, client IP).

The first :data:`FREE_ATTEMPTS` failures cost nothing; after that each further attempt for
the same email from the same address must wait ``2 ** (failures - FREE_ATTEMPTS)`` seconds
(capped at :data:`MAX_DELAY`) after the previous one, and is refused with 429 and
``Retry-After`` until then. A success resets the count; a quiet :data:`WINDOW` forgets it.

An attempt is counted *before* the password is checked, so many concurrent guesses cannot
all slip through while argon2 runs. State is in memory, per process, and bounded
(:data:`MAX_KEYS`, oldest forgotten first), so a flood of invented emails cannot exhaust
memory; with several server processes each slows down its own share.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from starlette.requests import Request

FREE_ATTEMPTS = 5
MAX_DELAY = 900.0
WINDOW = 900.0
MAX_KEYS = 10_000


@dataclass(slots=True)
class _Record:
    failures: int
    last: float


class LoginThrottle:
    """Counts login attempts per key and says how long the next one must wait."""

    def __init__(
        self,
        *,
        free_attempts: int = FREE_ATTEMPTS,
        max_delay: float = MAX_DELAY,
        window: float = WINDOW,
        max_keys: int = MAX_KEYS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._free = free_attempts
        self._max_delay = max_delay
        self._window = window
        self._max_keys = max_keys
        self._clock = clock
        self._records: OrderedDict[tuple[str, str], _Record] = OrderedDict()

    @staticmethod
    def key(email: str, client_ip: str) -> tuple[str, str]:
        return (str(email).strip().lower()[:320], str(client_ip)[:64])

    def _delay(self, failures: int) -> float:
        if failures < self._free:
            return 0.0
        return min(2.0 ** (failures - self._free), self._max_delay)

    def attempt(self, email: str, client_ip: str) -> float:
        """Register an attempt; returns 0 when it may proceed, else seconds to wait."""
        now = self._clock()
        key = self.key(email, client_ip)
        record = self._records.get(key)
        if record is not None and now - record.last > self._window:
            record = None
        if record is not None:
            wait = record.last + self._delay(record.failures) - now
            if wait > 0:
                return wait
        record = _Record(failures=(record.failures if record else 0) + 1, last=now)
        self._records[key] = record
        self._records.move_to_end(key)
        while len(self._records) > self._max_keys:
            self._records.popitem(last=False)
        return 0.0

    def succeeded(self, email: str, client_ip: str) -> None:
        """Forget the key's failures after a correct password."""
        self._records.pop(self.key(email, client_ip), None)


def client_ip(request: Request) -> str:
    """The peer address (put a proxy's ``--forwarded-allow-ips`` on uvicorn to trust it)."""
    return request.client.host if request.client else "unknown"


def get_throttle(request: Request) -> LoginThrottle:
    """The app's throttle, shared by the JSON login and the dashboard's login form."""
    state = request.app.state
    throttle = getattr(state, "login_throttle", None)
    if throttle is None:
        throttle = LoginThrottle()
        state.login_throttle = throttle
    return throttle
