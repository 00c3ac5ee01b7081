"""A client cannot choose its throttle address with X-Forwarded-For unless its proxy is trusted."""

from __future__ import annotations

import secrets
import threading

import httpx
from hostile_support import Server


def test_forwarded_for_from_an_untrusted_peer_is_ignored(server: Server) -> None:
    """Eight concurrent wrong logins, each claiming another address: the throttle still keys
    them on the real peer, so some are refused (429); trusted, all would be 401."""
    email = f"spoof-{secrets.token_hex(4)}@example.com"
    codes: list[int] = []

    def login(i: int) -> None:
        with httpx.Client(base_url=server.url, timeout=60) as client:
            r = client.post(
                "/api/v1/auth/login",
                json={"email": email, "password": "wrong password!"},
                headers={"X-Forwarded-For": f"203.0.113.{i}"},
            )
            codes.append(r.status_code)

    threads = [threading.Thread(target=login, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(codes).count(401) <= 5
    assert 429 in codes
