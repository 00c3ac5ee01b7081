"""Password hashing with argon2id (argon2-cffi's defaults follow RFC 9106's recommendation).

argon2 costs tens of milliseconds of CPU by design. Web requests call the ``*_off_loop``
functions, which run it on a small dedicated thread pool (:data:`HASHING_THREADS`): the
event loop keeps serving other requests, and a flood of logins queues for those threads
instead of taking every core. A check for an unknown account verifies against a dummy hash,
so it costs the same as a wrong password and timing does not reveal which emails exist.

:func:`check_new_password` is the policy for a password a person chooses: a length range,
not one of the 20,000 most common passwords (the list Django ships, ``common-passwords.txt.gz``,
BSD licence), and not the account's email.
"""

from __future__ import annotations

import asyncio
import gzip
from concurrent.futures import ThreadPoolExecutor
from functools import cache
from importlib import resources

import asyncpg
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from tracehub_server.storage.users import set_password

_hasher = PasswordHasher()

MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 1024
#: argon2 computations running at once per process (argon2-cffi releases the GIL).
HASHING_THREADS = 2

_pool = ThreadPoolExecutor(max_workers=HASHING_THREADS, thread_name_prefix="tracehub-argon2")


def hash_password(password: str) -> str:
    """Hash ``password`` for storage; raises ValueError when it is too short or too long."""
    if not MIN_PASSWORD_LENGTH <= len(password) <= MAX_PASSWORD_LENGTH:
        raise ValueError(
            f"password must be {MIN_PASSWORD_LENGTH} to {MAX_PASSWORD_LENGTH} characters, "
            f"got {len(password)}"
        )
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """True when ``password`` matches; never raises for a wrong or malformed hash."""
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """True when the hash was made with weaker parameters than today's."""
    return _hasher.check_needs_rehash(password_hash)


async def rehash_if_needed(
    conn: asyncpg.Connection, user_id: int, password_hash: str, password: str
) -> None:
    """After a successful login, store a new hash if the old one used weaker parameters.

    A login is the only moment the plaintext is at hand, so it is when users created under
    older argon2 parameters move to today's. The password was already accepted once, so
    it is re-hashed as it is, without the length policy of :func:`hash_password`.
    """
    if needs_rehash(password_hash):
        await set_password(
            conn,
            user_id,
            await asyncio.get_running_loop().run_in_executor(_pool, _hasher.hash, password),
        )


@cache
def _dummy_hash() -> str:
    return _hasher.hash("not-a-real-password-only-for-timing")


async def hash_password_off_loop(password: str) -> str:
    """:func:`hash_password` on the hashing threads."""
    return await asyncio.get_running_loop().run_in_executor(_pool, hash_password, password)


async def verify_password_off_loop(password_hash: str | None, password: str) -> bool:
    """:func:`verify_password` on the hashing threads; None (no such account) is False after
    the same work as a wrong password."""
    stored = password_hash if password_hash is not None else _dummy_hash()
    ok = await asyncio.get_running_loop().run_in_executor(
        _pool, verify_password, stored, password[: MAX_PASSWORD_LENGTH * 4]
    )
    return ok and password_hash is not None


@cache
def _common_passwords() -> frozenset[str]:
    data = (resources.files("tracehub_server.auth") / "common-passwords.txt.gz").read_bytes()
    return frozenset(gzip.decompress(data).decode("utf-8").split())


def check_new_password(password: str, *, email: str | None = None) -> None:
    """Raise ValueError saying what is wrong with a password someone chose (never echoing it)."""
    if not MIN_PASSWORD_LENGTH <= len(password) <= MAX_PASSWORD_LENGTH:
        raise ValueError(
            f"password must be {MIN_PASSWORD_LENGTH} to {MAX_PASSWORD_LENGTH} characters, "
            f"got {len(password)}"
        )
    folded = password.strip().lower()
    if folded in _common_passwords():
        raise ValueError("password is one of the most common passwords; choose another")
    if email and folded == email.strip().lower():
        raise ValueError("password must not be the account's email")
