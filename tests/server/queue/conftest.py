"""Fixtures for queue tests."""

from __future__ import annotations

from queue_helpers import topology

__all__ = ["topology"]
