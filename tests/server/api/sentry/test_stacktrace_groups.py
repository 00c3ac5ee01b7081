"""Exception groups from the real ``sentry-sdk`` print as Python prints them, so the grouping
reads the same group, members and frames as from our SDK's text."""

from __future__ import annotations

import builtins
import traceback
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import sentry_sdk
from sentry_sdk.transport import Transport

import task_group_app
from tracehub_server.api.sentry.mapping import event_entry
from tracehub_server.grouping.fingerprint import fingerprint_parts

#: ``ExceptionGroup`` (Python 3.11; the server runs on 3.10 too, where these tests skip).
Group: Any = getattr(builtins, "ExceptionGroup", None)
pytestmark = pytest.mark.skipif(Group is None, reason="exception groups need Python 3.11")


class _Capture(Transport):
    """sentry-sdk's transport seam: the events it would send, kept in memory."""

    events: list[dict[str, Any]] = []

    def capture_envelope(self, envelope: Any) -> None:
        self.events.extend(item.payload.json for item in envelope.items if item.type == "event")


@pytest.fixture
def sentry() -> Iterator[list[dict[str, Any]]]:
    _Capture.events = []
    sentry_sdk.init(dsn="http://key@127.0.0.1:9/1", transport=_Capture, default_integrations=False)
    try:
        yield _Capture.events
    finally:
        sentry_sdk.get_client().close(timeout=2)
        sentry_sdk.init()


def _inner(index: int) -> None:
    raise ValueError(f"bad {index}")


def _leaf() -> None:
    try:
        _inner(0)
    except ValueError as exc:
        raise KeyError("k") from exc


def members_chained_and_nested() -> None:
    errors: list[Exception] = []
    for index in range(2):
        try:
            _inner(index)
        except ValueError as exc:
            errors.append(exc)
    try:
        _leaf()
    except KeyError as exc:
        errors.append(exc)
    try:
        raise Group("nested", [TypeError("t")])
    except Group as group:
        errors.append(group)
    raise Group("many", errors)


def group_with_its_own_cause() -> None:
    try:
        raise OSError("disk")
    except OSError as cause:
        try:
            _inner(1)
        except ValueError as exc:
            raise Group("g", [exc]) from cause


def task_group() -> None:
    task_group_app.show_cart("u1")


@pytest.mark.parametrize("raise_it", [members_chained_and_nested, group_with_its_own_cause,
                                      task_group])  # fmt: skip
def test_a_group_from_sentry_sdk_groups_as_its_python_text(
    sentry: list[dict[str, Any]], raise_it: Callable[[], None]
) -> None:
    try:
        raise_it()
    except BaseException as exc:  # the group is what is reported
        sentry_sdk.capture_exception(exc)
        text = "".join(traceback.format_exception(exc))
    sentry_sdk.flush(timeout=2)
    [event] = sentry
    entry = event_entry(event, fallback_id="0" * 32)
    assert "+ Exception Group Traceback (most recent call last):" in entry["stack_trace"]
    sent = fingerprint_parts("ExceptionGroup", "", entry["stack_trace"])
    printed = fingerprint_parts("ExceptionGroup", "", text)
    assert sent == printed
    assert any(part.startswith("member:") for part in sent)
