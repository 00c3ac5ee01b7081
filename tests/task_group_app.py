"""A small application failing inside an ``asyncio.TaskGroup`` (Python 3.11+): the exception
group that tests report through every client (our SDK, sentry-sdk, OpenTelemetry) and read
on the issue page. Its frames are in-app (a file of the test tree)."""

from __future__ import annotations

import asyncio


async def _load_customer(customer_id: str) -> None:
    raise LookupError(f"no customer {customer_id} in a very long list of places looked at")


async def _load_cart(customer_id: str) -> None:
    async with asyncio.TaskGroup() as group:
        group.create_task(_load_customer(customer_id))


def show_cart(customer_id: str) -> None:
    """Fails with an exception group, as an ``asyncio.TaskGroup`` does."""
    asyncio.run(_load_cart(customer_id))


def failure(customer_id: str) -> BaseException:
    """The exception group ``show_cart`` raises, caught (with its traceback)."""
    try:
        show_cart(customer_id)
    except BaseException as exc:  # the group is what an application reports
        return exc
    raise AssertionError("show_cart did not fail")
