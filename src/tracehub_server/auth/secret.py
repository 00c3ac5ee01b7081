"""The server's secret key (``TRACEHUB_SECRET_KEY``), and what is signed with it.

The key signs the login form's anti-CSRF token (:func:`sign` / :func:`verify`), so only this
server can mint one: a token planted in a browser by another site is refused. When the
setting is unset, a random key is generated once and kept in ``<data_dir>/secret_key``
(mode 0600, created with ``O_EXCL`` so processes starting together agree on one key), so
restarts and every ``--workers`` process use the same key. Several hosts behind one load
balancer must share the setting (or the file).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import time
from pathlib import Path

from starlette.requests import Request

from tracehub_server.settings import Settings

#: File under the data directory holding a generated key.
KEY_FILE = "secret_key"


def load_secret_key(settings: Settings) -> bytes:
    """The configured key, else the generated one under ``data_dir`` (made on first use)."""
    if settings.secret_key:
        return settings.secret_key.encode()
    path = Path(settings.data_dir).expanduser() / KEY_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        for _ in range(50):  # another process may be writing it right now
            key = path.read_text(encoding="ascii").strip()
            if key:
                return key.encode()
            time.sleep(0.01)
        raise RuntimeError(f"{path} is empty; delete it or set TRACEHUB_SECRET_KEY") from None
    key = secrets.token_urlsafe(48)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(key + "\n")
    return key.encode()


def secret_key(request: Request) -> bytes:
    """The app's key, loaded once per app from its settings."""
    state = request.app.state
    key = getattr(state, "secret_key", None)
    if key is None:
        key = state.secret_key = load_secret_key(state.settings)
    return key


def _mac(key: bytes, purpose: str, payload: str) -> str:
    digest = hmac.new(key, f"{purpose}|{payload}".encode(), hashlib.sha256).digest()
    return digest.hex()[:43]


def sign(key: bytes, purpose: str, *, now: float | None = None) -> str:
    """A fresh token for ``purpose``: issue time, a nonce and their HMAC."""
    payload = f"{int(now if now is not None else time.time())}.{secrets.token_urlsafe(16)}"
    return f"{payload}.{_mac(key, purpose, payload)}"


def verify(
    key: bytes, purpose: str, token: str, *, max_age: float, now: float | None = None
) -> bool:
    """True when ``token`` was made by :func:`sign` with this key and purpose, and is fresh."""
    if not isinstance(token, str) or len(token) > 200:
        return False
    payload, _, mac = token.rpartition(".")
    issued, _, _nonce = payload.partition(".")
    if not (issued.isascii() and issued.isdigit()) or len(issued) > 12:
        return False
    age = (now if now is not None else time.time()) - int(issued)
    if not 0 <= age <= max_age:
        return False
    return hmac.compare_digest(mac.encode(), _mac(key, purpose, payload).encode())
