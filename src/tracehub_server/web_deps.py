"""FastAPI dependency aliases shared by the JSON API and the dashboard.

The application's pool and settings hang off ``app.state`` (set by ``create_app``); these
aliases read them per request. They live here, outside ``api/``, so the dashboard can use
them without importing the API package: imports flow ``api → storage`` and
``dashboard → storage, auth``, never between the two web front ends.
"""

from __future__ import annotations

from typing import Annotated

import asyncpg
from fastapi import Depends, Request

from tracehub_server.settings import Settings

__all__ = ["PoolDep", "SettingsDep", "get_pool", "get_settings"]


def get_pool(request: Request) -> asyncpg.Pool:
    """The application's connection pool (``app.state.pool``)."""
    return request.app.state.pool


def get_settings(request: Request) -> Settings:
    """The validated settings the application started with (``app.state.settings``)."""
    return request.app.state.settings


PoolDep = Annotated[asyncpg.Pool, Depends(get_pool)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
