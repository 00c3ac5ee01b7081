"""Defects a new user hit (issue 16), each checked in a real Chromium."""

from __future__ import annotations

from typing import Any

from browser_support import World, login
from playwright.sync_api import expect


def test_issues_all_tab_lists_every_status(context: Any, world: World) -> None:
    """The Issues page's "All" tab opens the list of every status (it linked to a 404)."""
    page = login(context, world, world.member)
    page.goto(world.url(f"/projects/{world.project_id}/issues"))
    page.get_by_role("link", name="All", exact=True).click()
    page.wait_for_url(world.url(f"/projects/{world.project_id}/issues?status="))
    expect(page.get_by_role("heading", name="Issues")).to_be_visible()
    expect(page.get_by_role("link", name="All", exact=True)).to_have_attribute(
        "aria-current", "page"
    )


def test_a_user_with_one_project_lands_on_its_overview(context: Any, world: World) -> None:
    """After login, a member of exactly one project sees that project, not the project list."""
    page = login(context, world, world.member)
    assert page.url == world.url(f"/projects/{world.project_id}")
    expect(page.get_by_role("heading", name="Log volume by level")).to_be_visible()


def _offline(context: Any, world: World) -> list[str]:
    """Refuse every request that leaves the server under test; returns the refused URLs."""
    refused: list[str] = []

    def route(r: Any) -> None:
        if r.request.url.startswith(world.base_url):
            r.continue_()
        else:
            refused.append(r.request.url)
            r.abort()

    context.route("**/*", route)
    return refused


def test_api_docs_work_offline_under_a_csp(context: Any, world: World) -> None:
    """/docs and /redoc render the API from the package's own assets, with no other host."""
    refused = _offline(context, world)
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    resp = page.goto(world.url("/docs"))
    assert resp is not None
    assert "default-src 'self'" in resp.headers["content-security-policy"]
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("TraceHub")
    expect(page.locator(".opblock").first).to_be_visible()
    resp = page.goto(world.url("/redoc"))
    assert resp is not None
    assert "script-src 'self'" in resp.headers["content-security-policy"]
    expect(page.locator("redoc h1").first).to_contain_text("TraceHub")
    assert refused == []
    # ReDoc's "powered by" footer links a logo on its CDN: the CSP blocks it, nothing breaks.
    blocked = [e for e in errors if "Content Security Policy" in e and "cdn.redoc.ly" not in e]
    assert blocked == [], blocked


def _visible_chart(page: Any) -> dict[str, float]:
    """The shown volume chart's box, viewBox and the rendered height of its axis text."""
    return page.evaluate(
        """() => {
        const svg = [...document.querySelectorAll('svg.chart')]
            .find(s => s.getBoundingClientRect().width > 0);
        const box = svg.getBoundingClientRect();
        const vb = svg.viewBox.baseVal;
        const text = svg.querySelector('text.axis.x').getBoundingClientRect();
        return {w: box.width, h: box.height, vw: vb.width, vh: vb.height, text: text.height,
                labels: [...svg.querySelectorAll('text.axis.x')].map(t => t.textContent)};
    }"""
    )


def test_charts_scale_uniformly_and_stay_legible(browser: Any, world: World) -> None:
    """At 390 px and 1,400 px the charts keep their proportions, text at least 10 px high,
    and the issue's week names each day once, today included."""
    for width in (390, 1400):
        ctx = browser.new_context(viewport={"width": width, "height": 844})
        try:
            page = login(ctx, world, world.member)
            for path in (
                f"/projects/{world.project_id}",
                f"/projects/{world.project_id}/issues/{world.issue_id}",
            ):
                page.goto(world.url(path))
                chart = _visible_chart(page)
                assert abs(chart["w"] / chart["h"] - chart["vw"] / chart["vh"]) < 0.02, chart
                assert chart["text"] >= 10, chart
                assert len(chart["labels"]) == len(set(chart["labels"])), chart
            today = page.evaluate("() => new Date().toUTCString().slice(8, 11)")
            assert chart["labels"][-1].startswith(today), chart
        finally:
            ctx.close()
