"""The project settings page shows the Sentry DSN and the OTLP endpoint."""

from __future__ import annotations

import html
import re

from pages_support import Seed

from tracehub_server.dashboard.dsn import sentry_dsn


def test_dsn_puts_the_key_in_the_user_and_keeps_a_path_prefix() -> None:
    """The DSN is the base URL with the key as user and the project id as last segment."""
    assert sentry_dsn("http://localhost:8000", 7, "th_k") == "http://th_k@localhost:8000/7"
    assert sentry_dsn("https://x.example/hub/", 3, "k") == "https://k@x.example/hub/3"


async def test_settings_show_the_dsn_template_then_the_full_dsn(as_member, seed: Seed) -> None:
    """Without a fresh key the DSN has a placeholder; right after creating one it is whole."""
    client, csrf = as_member
    base = f"/projects/{seed.project_id}/settings"
    page = html.unescape((await client.get(base)).text)
    assert f"http://<API key>@testserver/{seed.project_id}" in page
    assert "OTEL_EXPORTER_OTLP_ENDPOINT=http://testserver" in page
    created = await client.post(base + "/keys", data={"csrf_token": csrf, "name": "sentry"})
    key = re.search(r'id="new-key">(th_[^<]+)<', created.text)
    assert key
    assert f'id="sentry-dsn">http://{key.group(1)}@testserver/{seed.project_id}<' in created.text


async def test_public_url_is_used_when_set(app, as_member, seed: Seed) -> None:
    """With public_url configured, the DSN names it rather than the request's host."""
    client, _ = as_member
    app.state.settings = app.state.settings.model_copy(
        update={"public_url": "https://hub.example.com"}
    )
    page = html.unescape((await client.get(f"/projects/{seed.project_id}/settings")).text)
    assert f"https://<API key>@hub.example.com/{seed.project_id}" in page
