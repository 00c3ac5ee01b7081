"""Fixtures of the browser tests (defined in ``browser_support``, a name unique in the test tree).

Every test here is marked ``browser`` and skipped, with the reason, when Chromium is missing.
"""

from pathlib import Path

import pytest
from browser_support import CHROMIUM, browser, context, dialogs, server_url, world

__all__ = ["browser", "context", "dialogs", "server_url", "world"]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if Path(str(item.fspath)).is_relative_to(here):
            item.add_marker(pytest.mark.browser)
            if not Path(CHROMIUM).exists():
                item.add_marker(pytest.mark.skip(reason=f"{CHROMIUM} is not installed"))
