"""Server-rendered web dashboard, mounted on the API's port by ``create_app``."""

from __future__ import annotations

from fastapi import FastAPI


def mount(app: FastAPI) -> None:
    """Attach the dashboard's routes and static files to ``app``."""
