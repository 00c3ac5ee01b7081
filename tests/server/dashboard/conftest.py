"""Fixtures of the dashboard tests that drive the whole server: a live server on the run's
database and a project key (they live in ``live_server``, shared with the protocol tests)."""

from live_server import project_key, server_url

__all__ = ["project_key", "server_url"]
