"""Where a Sentry request's key is: the DSN of a tunnelled envelope's header."""

from __future__ import annotations

import pytest

from tracehub_server.api.sentry.auth import dsn_parts


@pytest.mark.parametrize(
    ("dsn", "parts"),
    [
        ("https://th_abc@tracehub.example/42", ("th_abc", 42)),
        ("http://th_abc@127.0.0.1:8000/42/", ("th_abc", 42)),
        ("https://th_abc:secret@tracehub.example/prefix/7", ("th_abc", 7)),
    ],
)
def test_a_dsn_gives_its_key_and_project(dsn: str, parts: tuple[str, int]) -> None:
    """The user part is the key; the last path segment the project (a path prefix is allowed)."""
    assert dsn_parts(dsn) == parts


@pytest.mark.parametrize(
    "dsn",
    [None, 42, "", "https://tracehub.example/42", "https://k@tracehub.example/shop",
     "https://k@tracehub.example/" + "9" * 19, "http://k@[::1/42", "https://k@host/\uff14\uff12"],
)  # fmt: skip
def test_anything_else_is_no_dsn(dsn: object) -> None:
    """No key, no numeric project id (ASCII digits only), a malformed URL: not a DSN."""
    assert dsn_parts(dsn) is None
