"""Fixtures of the page tests; they live in ``pages_support`` so tests can import helpers by a
name unique across the test tree (every folder's ``conftest`` module is called the same)."""

from pages_support import anon, app, as_admin, as_member, as_viewer, seed

__all__ = ["anon", "app", "as_admin", "as_member", "as_viewer", "seed"]
