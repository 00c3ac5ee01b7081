"""Python exception groups (``asyncio.TaskGroup``, ``ExceptionGroup``) are grouped by their
frames and their members, not by the group's message ("unhandled errors in a TaskGroup")."""

from __future__ import annotations

import pytest

from tracehub_server.grouping.explain import grouping_view
from tracehub_server.grouping.fingerprint import (
    GROUPING_VERSION,
    PREVIOUS_ALGORITHMS,
    fingerprint,
)
from tracehub_server.grouping.frames import parse_stack

Member = tuple[str, str, str, str, int]  # type, message, file, function, line

TASKGROUP = "/usr/lib/python3.11/asyncio/taskgroups.py"


def _member(member: Member) -> list[str]:
    kind, message, path, function, line = member
    return [
        "Traceback (most recent call last):",
        f'  File "{path}", line {line}, in {function}',
        f"    raise {kind}(...)",
        f"{kind}: {message}",
    ]


def taskgroup_trace(handler: tuple[str, str, int], members: list[Member]) -> str:
    """A TaskGroup's failure exactly as ``traceback.format_exception`` prints it."""
    path, function, line = handler
    lines = [
        "  + Exception Group Traceback (most recent call last):",
        f'  |   File "{path}", line {line}, in {function}',
        "  |     async with asyncio.TaskGroup() as tg:",
        f'  |   File "{TASKGROUP}", line 145, in __aexit__',
        "  |     raise me from None",
        f"  | ExceptionGroup: unhandled errors in a TaskGroup ({len(members)} sub-exceptions)",
    ]
    for index, member in enumerate(members, 1):
        opening = "  +-+" if index == 1 else "    +"
        lines.append(f"{opening}---------------- {index} ----------------")
        lines += [f"    | {text}" for text in _member(member)]
    lines.append("    +------------------------------------")
    return "\n".join(lines) + "\n"


CHECKOUT = ("/srv/app/checkout.py", "place_order", 40)
PROFILE = ("/srv/app/profile.py", "show_profile", 12)
USER_MISSING: Member = ("KeyError", "'u1'", "/srv/app/users.py", "fetch_user", 8)
ORDERS_TIMEOUT: Member = ("TimeoutError", "orders of u1", "/srv/app/orders.py", "fetch", 21)


def _fp(trace: str) -> str:
    return fingerprint(1, "ExceptionGroup", "unhandled errors in a TaskGroup", trace)


def test_the_group_is_read_as_its_own_frames_and_its_members() -> None:
    parsed = parse_stack(taskgroup_trace(CHECKOUT, [USER_MISSING, ORDERS_TIMEOUT]))
    assert parsed is not None
    assert [f.key for f in parsed.frames if f.in_app] == ["app/checkout:place_order"]
    assert [(m.type, [f.key for f in m.frames]) for m in parsed.members] == [
        ("KeyError", ["app/users:fetch_user"]),
        ("TimeoutError", ["app/orders:fetch"]),
    ]


def test_failures_at_two_call_sites_are_two_issues() -> None:
    """th1 grouped both by the group's message: one issue for every TaskGroup of the app."""
    at_checkout = taskgroup_trace(CHECKOUT, [USER_MISSING])
    at_profile = taskgroup_trace(PROFILE, [USER_MISSING])
    assert _fp(at_checkout) != _fp(at_profile)
    th1 = PREVIOUS_ALGORITHMS["th1"]
    assert th1(1, "ExceptionGroup", "unhandled errors", at_checkout, None) == th1(
        1, "ExceptionGroup", "unhandled errors", at_profile, None
    )


def test_members_of_another_type_or_place_are_another_issue() -> None:
    missing = taskgroup_trace(CHECKOUT, [USER_MISSING])
    timeout = taskgroup_trace(CHECKOUT, [ORDERS_TIMEOUT])
    elsewhere = taskgroup_trace(CHECKOUT, [(*USER_MISSING[:3], "fetch_admin", 8)])
    assert len({_fp(missing), _fp(timeout), _fp(elsewhere)}) == 3


@pytest.mark.parametrize(
    "variant",
    [
        [("KeyError", "'u2'", *USER_MISSING[2:4], 99)],  # another message and line
        [USER_MISSING, ("KeyError", "'u3'", *USER_MISSING[2:])],  # the same bug twice
    ],
)
def test_the_same_bug_is_one_issue_whatever_the_messages_lines_and_counts(
    variant: list[Member],
) -> None:
    base = _fp(taskgroup_trace(CHECKOUT, [USER_MISSING]))
    moved = (CHECKOUT[0], CHECKOUT[1], CHECKOUT[2] + 7)
    assert _fp(taskgroup_trace(moved, variant)) == base


def test_member_order_does_not_matter() -> None:
    """Tasks fail in any order: the members are a set."""
    one = taskgroup_trace(CHECKOUT, [USER_MISSING, ORDERS_TIMEOUT])
    other = taskgroup_trace(CHECKOUT, [ORDERS_TIMEOUT, USER_MISSING])
    assert _fp(one) == _fp(other)


def test_a_group_inside_a_member_is_read_by_its_own_frames() -> None:
    trace = (
        "  + Exception Group Traceback (most recent call last):\n"
        '  |   File "/srv/app/jobs.py", line 3, in run\n'
        "  |     raise ExceptionGroup('many', errs)\n"
        "  | ExceptionGroup: many (1 sub-exception)\n"
        "  +-+---------------- 1 ----------------\n"
        "    | Exception Group Traceback (most recent call last):\n"
        '    |   File "/srv/app/jobs.py", line 9, in step\n'
        "    |     raise ExceptionGroup('nested', [TypeError('t')])\n"
        "    | ExceptionGroup: nested (1 sub-exception)\n"
        "    +-+---------------- 1 ----------------\n"
        "      | TypeError: t\n"
        "      +------------------------------------\n"
    )
    parsed = parse_stack(trace)
    assert parsed is not None
    assert [(m.type, [f.key for f in m.frames]) for m in parsed.members] == [
        ("ExceptionGroup", ["app/jobs:step"])
    ]


def test_the_explanation_names_the_members() -> None:
    view = grouping_view(
        "ExceptionGroup", "x", taskgroup_trace(CHECKOUT, [USER_MISSING]), None, GROUPING_VERSION
    )
    assert view.kind == "frames"
    assert "app/checkout:place_order" in view.frames
    assert view.members == [["KeyError", "app/users:fetch_user"]]


def test_a_th1_issue_is_explained_as_th1_grouped_it() -> None:
    trace = taskgroup_trace(CHECKOUT, [USER_MISSING])
    view = grouping_view("ExceptionGroup", "x", trace, None, "th1")
    assert view.kind == "message"
    assert view.members == []
