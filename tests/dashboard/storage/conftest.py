"""Storage tests reuse the query API fixtures (a pool on the run's migrated database)."""

import sys
from pathlib import Path

# The shared fixtures sit next to the API tests; test dirs are not packages, so add that dir.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "api"))

from query_api_fixtures import pool

__all__ = ["pool"]
