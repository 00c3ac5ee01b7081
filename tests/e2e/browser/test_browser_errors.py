"""The issue page in a real Chromium: frames, source, chain order, why grouped, merge, 390 px."""

from __future__ import annotations

import sys
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import errors_app
import pytest
from browser_support import World, login, screenshot
from playwright.sync_api import expect

import task_group_app
from tracehub import TraceHubLogger
from tracehub_server.grouping.fingerprint import GROUPING_VERSION


@pytest.fixture
def sdk(world: World) -> Iterator[TraceHubLogger]:
    """The real SDK, sending to the test server."""
    logger = TraceHubLogger(
        api_key=world.api_key,
        service="checkout",
        environment="production",
        endpoint=world.base_url,
        flush_interval=0.05,
        dlq_path=None,
    )
    try:
        yield logger
    finally:
        logger.close(timeout=5)


def _send_charge_failure(sdk: TraceHubLogger, raw: str, **fields: Any) -> None:
    try:
        errors_app.charge(raw)
    except errors_app.PaymentError:
        sdk.error("charge failed", exc_info=True, **fields)
    assert sdk.flush(timeout=10)


def _issue_url(page: Any, world: World, title_part: str) -> str:
    page.goto(world.url(f"/projects/{world.project_id}/issues?status="))
    page.get_by_role("link", name=title_part).first.click()
    page.wait_for_url("**/issues/*")
    return str(page.url).split("?")[0].split("#")[0]


def test_issue_page_shows_the_structured_chain(context: Any, world: World, sdk: Any) -> None:
    """Real title, chain in Python's order, in-app source with the failing line, folded
    library frames, why grouped, the frame order remembered, raw text one click away."""
    tag = uuid.uuid4().hex[:6]
    _send_charge_failure(sdk, f"first-{tag} {{", extra={"order_id": 1})
    _send_charge_failure(sdk, f"second-{tag} {{", extra={"order_id": 2})
    page = login(context, world, world.member)
    url = _issue_url(page, world, f"PaymentError: order 'first-{tag}")
    # The first event's real message, never the grouping's placeholders.
    expect(page.locator("#issue-title")).to_have_text(
        f"PaymentError: order 'first-{tag}' could not be charged"
    )
    trace = page.locator("#trace")
    exceptions = trace.locator(".exception")
    expect(exceptions).to_have_count(2)
    expect(exceptions.nth(0).locator(".exc-title")).to_contain_text("JSONDecodeError")
    expect(exceptions.nth(1).locator(".exc-title")).to_contain_text("errors_app.PaymentError")
    expect(trace.locator(".chain-sentence")).to_have_text(
        "The above exception was the direct cause of the following exception:"
    )
    failing = exceptions.nth(1).locator(".frame.in-app .ctx-line.failing").first
    expect(failing).to_contain_text("raise PaymentError")
    library = exceptions.nth(0).locator("details.lib-run").first
    expect(library.locator("summary")).to_contain_text("library frame")
    expect(library.locator("ol.lib-frames")).to_be_hidden()
    library.locator("summary").click()
    expect(library.locator("ol.lib-frames")).to_be_visible()
    expect(page.locator("#grouping-frames")).to_contain_text("errors_app:charge")
    expect(trace.locator(".frame.used").first).to_contain_text("charge")
    expect(page.locator("#grouping-version")).to_have_text(GROUPING_VERSION)
    expect(page.locator("#event-extra")).to_contain_text("order_id")
    # Newest first by default: the raise site leads; the choice is remembered per user.
    first_frame = exceptions.nth(1).locator(".frame-where").first
    expect(first_frame).to_contain_text("in charge")
    page.locator("#order-oldest").click()
    expect(page.locator("#order-oldest")).to_have_attribute("aria-pressed", "true")
    page.goto(url)
    expect(page.locator("#trace .exception").nth(1).locator(".frame-where").first).to_contain_text(
        "test_browser_errors"
    )
    page.locator("#order-newest").click()
    expect(page.locator("#order-newest")).to_have_attribute("aria-pressed", "true")
    raw = page.locator("#raw-trace pre")
    expect(raw).to_be_hidden()
    page.get_by_text("Raw stack trace").click()
    expect(raw).to_contain_text("Traceback (most recent call last)")
    screenshot(page, "issue-structured")
    # The older event has its own trace and extra.
    page.locator("#older-event").click()
    expect(page.locator("#event-extra")).to_contain_text("1")
    expect(page.locator("#trace .exception").nth(1).locator(".exc-value")).to_contain_text(
        f"first-{tag}"
    )
    expect(page.locator("#newer-event")).to_be_visible()


def test_issue_page_fits_a_phone(browser: Any, world: World, sdk: Any) -> None:
    """At 390 px the issue page is no wider than the window, long text wraps."""
    tag = uuid.uuid4().hex[:6]
    unbroken = "y" * 400
    _send_charge_failure(
        sdk, f"phone{tag}" + unbroken, fingerprint=["phone", tag], extra={"blob": unbroken}
    )
    ctx = browser.new_context(viewport={"width": 390, "height": 844})
    try:
        page = login(ctx, world, world.member)
        _issue_url(page, world, f"PaymentError: order 'phone{tag}")
        page.get_by_text("Raw stack trace").click()
        # The issue page's own content (the top bar is the shared layout's, fixed there) is
        # no wider than the window, and long text wraps instead of scrolling sideways.
        assert page.evaluate("document.querySelector('main').scrollWidth") <= 390
        unwrapped = page.evaluate(
            "[...document.querySelectorAll('#trace pre, #trace .frame, #event dd, #event-extra')]"
            ".filter(e => e.scrollWidth > e.clientWidth + 1).map(e => e.className)"
        )
        assert unwrapped == []
        screenshot(page, "issue-phone")
    finally:
        ctx.close()


@pytest.mark.skipif(sys.version_info < (3, 11), reason="asyncio.TaskGroup needs Python 3.11")
def test_a_task_group_failure_shows_its_members_on_a_phone(
    browser: Any, world: World, sdk: Any
) -> None:
    """A real TaskGroup failure sent by the SDK: Why grouped lists its member, the group's
    and the member's hashed frames are marked, and the page fits 390 px."""
    tag = uuid.uuid4().hex[:6]
    # In a thread of its own: Playwright's sync API keeps an event loop running in this one.
    with ThreadPoolExecutor(1) as pool:
        failure = pool.submit(task_group_app.failure, tag).result()
    sdk.error(f"cart {tag} failed", exception=failure)
    assert sdk.flush(timeout=10)
    ctx = browser.new_context(viewport={"width": 390, "height": 844})
    try:
        page = login(ctx, world, world.member)
        page.goto(world.url(f"/projects/{world.project_id}/issues?status=&q=cart+{tag}"))
        page.get_by_role("link", name="ExceptionGroup").first.click()
        page.wait_for_url("**/issues/*")
        members = page.locator("#grouping-members")
        expect(members).to_contain_text("LookupError at tests/task_group_app:_load_customer")
        trace = page.locator("#trace")
        marked = trace.locator(".frame.used .frame-where")
        expect(marked.filter(has_text="in _load_cart")).to_have_count(1)
        expect(marked.filter(has_text="in _load_customer")).to_have_count(1)
        assert page.evaluate("document.querySelector('main').scrollWidth") <= 390
        screenshot(page, "issue-task-group-phone")
    finally:
        ctx.close()


def _count_of(page: Any) -> str:
    return str(page.locator(".stat .value").first.inner_text())


def test_merge_and_unmerge(context: Any, world: World, sdk: Any) -> None:
    """Merging moves events; new events of the merged fingerprint go to the target until
    unmerged, then to their own issue again. A custom fingerprint is shown as the reason."""
    tag = uuid.uuid4().hex[:6]
    target_fp = ["refunds", tag]
    source_fp = ["payments", tag]

    def send(fp: list[str], amount: int) -> None:
        try:
            errors_app.refund(amount)
        except LookupError:
            sdk.error("refund failed", exc_info=True, fingerprint=fp)
        assert sdk.flush(timeout=10)

    send(target_fp, 1)
    send(source_fp, 2)
    page = login(context, world, world.member)
    page.goto(world.url(f"/projects/{world.project_id}/issues"))
    target = _issue_url(page, world, "LookupError: no payment of 1 to refund")
    expect(page.locator("#custom-fingerprint")).to_contain_text(tag)
    page.goto(world.url(f"/projects/{world.project_id}/issues"))
    source = _issue_url(page, world, "LookupError: no payment of 2 to refund")
    source_id = source.rsplit("/", 1)[1]
    page.goto(target)
    page.locator(f"#merge input[value='{source_id}']").check()
    page.locator("#merge-selected").click()
    expect(page.get_by_role("status")).to_contain_text("Issues merged")
    assert _count_of(page) == "2"
    send(source_fp, 3)
    page.reload()
    assert _count_of(page) == "3"
    page.goto(source)
    expect(page.locator("#merged-banner")).to_contain_text("Merged into")
    page.locator("#unmerge").click()
    expect(page.get_by_role("status")).to_contain_text("Unmerged")
    send(source_fp, 4)
    page.reload()
    assert _count_of(page) == "1"
    page.goto(target)
    assert _count_of(page) == "3"
