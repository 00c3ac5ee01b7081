"""A small "application" whose errors the issue-page browser tests send through the real SDK.

Its frames are in-app (a file of the test tree), and ``parse_order`` goes through the
standard library's ``json`` (library frames), so a trace has both kinds.
"""

from __future__ import annotations

import json


class PaymentError(Exception):
    """The application's own error, raised from a library error."""


def parse_order(raw: str) -> dict[str, object]:
    return json.loads(raw)  # type: ignore[no-any-return]


def charge(raw: str) -> None:
    try:
        parse_order(raw)
    except ValueError as exc:
        raise PaymentError(f"order {raw[:12]!r} could not be charged") from exc


def refund(amount: int) -> None:
    raise LookupError(f"no payment of {amount} to refund")
