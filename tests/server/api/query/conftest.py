"""The query API tests' fixtures live in query_api_fixtures (shared with tests/server/auth)."""

from query_api_fixtures import client, world

__all__ = ["client", "world"]
