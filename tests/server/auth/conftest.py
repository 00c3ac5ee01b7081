"""Auth tests reuse the query API fixtures (real app, seeded world of every role)."""

from query_api_fixtures import client, world

__all__ = ["client", "world"]
