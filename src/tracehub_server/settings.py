"""One validated Settings object for every server process (API, worker, CLI).

Values come from ``TRACEHUB_*`` environment variables, overridden by command-line flags; a
bad value stops start-up with a message that names the setting, never a traceback.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


def default_data_dir() -> Path:
    return Path("~/.tracehub").expanduser()


class Settings(BaseSettings):
    """Server configuration; see the README's configuration table."""

    model_config = SettingsConfigDict(env_prefix="TRACEHUB_", extra="ignore")

    #: External PostgreSQL; when unset, an embedded PostgreSQL (pgserver) under data_dir is used.
    database_url: str | None = None
    #: RabbitMQ; when unset, batches are processed in-process (no broker).
    amqp_url: str | None = None
    data_dir: Path = Field(default_factory=default_data_dir)
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    queue_name: str = "log_ingestion"
    queue_type: Literal["classic", "quorum"] = "classic"
    retention_days: int = Field(default=30, ge=1, le=3650)
    #: Per-project ingest rate limit in entries per second; 0 disables it.
    rate_limit_per_second: float = Field(default=0.0, ge=0)
    #: Messages waiting in the queue above which ingest answers 429.
    max_queue_depth: int = Field(default=100_000, ge=1)
    #: Seconds an API-key lookup is cached in-process (a revoked key stops working within this).
    api_key_cache_seconds: float = Field(default=5.0, ge=0, le=300)
    #: Secret for session and CSRF tokens; generated and kept under data_dir when unset.
    secret_key: str | None = None
    log_level: Literal["debug", "info", "warning", "error"] = "info"

    @field_validator("database_url")
    @classmethod
    def _check_database_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("postgresql://", "postgres://")):
            raise ValueError(
                "must start with postgresql:// (for example postgresql://user@host/db)"
            )
        return value

    @field_validator("amqp_url")
    @classmethod
    def _check_amqp_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("amqp://", "amqps://")):
            raise ValueError("must start with amqp:// (for example amqp://guest:guest@host:5672/)")
        return value

    @property
    def embedded(self) -> bool:
        """True when no external database is configured."""
        return self.database_url is None
