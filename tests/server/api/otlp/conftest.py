"""Fixtures for the OTLP tests: a live server on the run's database and a project key."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from live_server import live_server, new_project

from tracehub_server.settings import Settings


@pytest.fixture
def server_url(migrated_database_url: str, tmp_path: Path) -> Iterator[str]:
    """A real server (in-process queue: a 2xx means committed) on 127.0.0.1."""
    settings = Settings(
        database_url=migrated_database_url, data_dir=tmp_path, api_key_cache_seconds=0
    )
    with live_server(settings) as url:
        yield url


@pytest.fixture
def project_key(migrated_database_url: str) -> tuple[int, str]:
    """A fresh project and its API key."""
    return new_project(migrated_database_url)
