"""Password hashing with argon2id (argon2-cffi's defaults follow RFC 9106's recommendation)."""

from __future__ import annotations

import asyncio

import asyncpg
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from tracehub_server.storage.users import set_password

_hasher = PasswordHasher()

MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 1024


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
        await set_password(conn, user_id, await asyncio.to_thread(_hasher.hash, password))
