"""The issue page marks the frames each platform's fingerprint hashed ("grouped by").

Events go the user's way: Sentry events as the SDKs send them through the envelope route, a
Python error through our SDK, digested by the live server; the issue page is read over HTTP.
"""

from __future__ import annotations

import asyncio
import copy
import html
import re
import secrets
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import orjson
from live_server import issues
from pages_support import PASSWORD, login
from sentry.test_stacktrace import BROWSER_EVENT, DOTNET_EVENT, GO_EVENT, JAVA_EVENT

from tracehub import TraceHubLogger
from tracehub_server.auth.passwords import hash_password
from tracehub_server.storage import users

_IN_APP = re.compile(
    r'<li class="frame in-app(?P<used> used)?">\s*<div class="frame-where wrap">'
    r'<span class="mono">(?P<file>[^<]*)</span>.*? in <span class="mono fn">(?P<fn>[^<]*)</span>',
    re.S,
)
_LIBRARY = re.compile(
    r'<li class="wrap(?P<used> used)?"><span class="mono">(?P<file>[^<]*)</span>.*?'
    r' in <span class="mono">(?P<fn>[^<]*)</span>'
)


class CheckoutError(Exception):
    """The application's exception, raised from a cause."""


def _fetch_price(sku: str) -> int:
    return {}[sku]


def checkout(sku: str) -> int:
    """Raises CheckoutError from a KeyError; both tracebacks pass through this function."""
    try:
        return _fetch_price(sku)
    except KeyError as exc:
        raise CheckoutError(f"no price for {exc}") from exc


def _raised() -> CheckoutError:
    try:
        checkout("sku-1")
    except CheckoutError as exc:
        return exc
    raise AssertionError("checkout did not raise")


def _sent(event: dict[str, Any]) -> dict[str, Any]:
    return {**event, "event_id": secrets.token_hex(16), "level": "error",
            "timestamp": datetime.now(timezone.utc).timestamp() - 5}  # fmt: skip


def _browser_error_with_a_cause() -> dict[str, Any]:
    """The browser error raised from a failed fetch (``new Error(msg, {cause})``), whose frame
    the grouping reads after the raised error's three."""
    event = copy.deepcopy(BROWSER_EVENT)
    [raised] = event["exception"]["values"]
    raised.update(type="RangeError", mechanism={"type": "onerror", "exception_id": 0})
    fetch = {"filename": "https://shop.example/static/js/api.8e11d0c4.js",
             "function": "fetchCart", "in_app": True, "lineno": 1, "colno": 311}  # fmt: skip
    cause = {"type": "Error", "value": "fetch failed", "stacktrace": {"frames": [fetch]},
             "mechanism": {"type": "chained", "source": "cause", "exception_id": 1,
                           "parent_id": 0}}  # fmt: skip
    event["exception"]["values"] = [cause, raised]
    return event


async def _post_sentry(client: httpx.AsyncClient, project_id: int, key: str, event: dict) -> None:
    payload = orjson.dumps(_sent(event))
    body = b"\n".join([b"{}", orjson.dumps({"type": "event", "length": len(payload)}), payload])
    auth = f"Sentry sentry_key={key}, sentry_version=7, sentry_client=test/1"
    response = await client.post(
        f"/api/{project_id}/envelope/", content=body + b"\n", headers={"X-Sentry-Auth": auth}
    )
    assert response.status_code == 200, response.text


def _report_natively(url: str, key: str, tmp_path: Path) -> None:
    logger = TraceHubLogger(api_key=key, service="shop", environment="test", endpoint=url,
                            dlq_path=tmp_path / "dlq")  # fmt: skip
    try:
        logger.error("checkout failed", exception=_raised())
        assert logger.flush(timeout=10)
    finally:
        logger.close()


async def _viewer(database_url: str, project_id: int) -> str:
    conn = await asyncpg.connect(database_url)
    try:
        email = f"viewer-{secrets.token_hex(4)}@example.com"
        user = await users.create_user(conn, email, hash_password(PASSWORD))
        await users.set_membership(conn, project_id, user.id, "viewer")
    finally:
        await conn.close()
    return email


def _frames(page: str) -> list[tuple[str, str, bool]]:
    """Every shown frame as ``(file, function, marked)``, newest first."""
    found = [*_IN_APP.finditer(page), *_LIBRARY.finditer(page)]
    found.sort(key=lambda match: match.start())
    return [(html.unescape(m["file"]), html.unescape(m["fn"]), bool(m["used"])) for m in found]


def _marked(page: str) -> list[tuple[str, str]]:
    return [(file, function) for file, function, used in _frames(page) if used]


async def test_each_platforms_grouped_frames_are_marked_on_the_issue_page(
    server_url: str, project_key: tuple[int, str], migrated_database_url: str, tmp_path: Path
) -> None:
    """Browser JavaScript (bundle-hashed URLs, an unnamed function, a cause), Java (the cause
    and the runtime left out), Go, .NET (Sentry's fallback layout) and our Python SDK (the
    cause's frames left out): exactly the frames the fingerprint hashed carry the mark."""
    project_id, key = project_key
    events = (BROWSER_EVENT, JAVA_EVENT, GO_EVENT, DOTNET_EVENT, _browser_error_with_a_cause())
    async with httpx.AsyncClient(base_url=server_url, timeout=30) as client:
        for event in events:
            await _post_sentry(client, project_id, key, event)
        await asyncio.to_thread(_report_natively, server_url, key, tmp_path)
        await login(client, await _viewer(migrated_database_url, project_id))
        pages = {}
        for issue in await asyncio.to_thread(issues, migrated_database_url, project_id):
            page = await client.get(f"/projects/{project_id}/issues/{issue['id']}")
            assert page.status_code == 200
            pages[issue["error_type"]] = page.text
    main = "https://shop.example/static/js/main.3f9a1c2b.js"
    vendor = "https://shop.example/static/js/vendor.5d2c91af.js"
    browser = [(main, "cartTotal"), (main, "HTMLButtonElement.onClick"), (vendor, "?")]
    assert _marked(pages["TypeError"]) == browser
    api = "https://shop.example/static/js/api.8e11d0c4.js"
    assert _marked(pages["RangeError"]) == [(api, "fetchCart"), *browser]  # the cause shown first
    assert _marked(pages["CheckoutException"]) == [
        ("CartService.java", "checkout"), ("CartController.java", "checkout")
    ]  # fmt: skip
    assert ("Thread.java", "run", False) in _frames(pages["CheckoutException"])
    assert ("CartRepository.java", "load", False) in _frames(pages["CheckoutException"])
    assert _marked(pages["*errors.errorString"]) == [
        ("/app/cart/cart.go", "(*Cart).Checkout"), ("/app/main.go", "main")
    ]  # fmt: skip
    assert _marked(pages["System.InvalidOperationException"]) == [
        ("/src/Acme.Shop/CartService.cs", "decimal CartService.Total(Cart cart)"),
        ("/src/Acme.Shop/CartController.cs", "void CartController.Checkout(int id)"),
    ]
    python = _frames(pages["CheckoutError"])
    assert [function for _, function, used in python if used] == ["checkout", "_raised"]
    assert [function for _, function, _ in python].count("checkout") == 2  # cause's unmarked
