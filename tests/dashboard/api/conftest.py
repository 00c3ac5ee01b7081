"""The query API tests' fixtures live in query_api_fixtures (shared with tests/dashboard/auth)."""

from query_api_fixtures import client, pool, world

__all__ = ["client", "pool", "world"]
