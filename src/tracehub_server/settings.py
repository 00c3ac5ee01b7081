"""One validated Settings object for every server process (API, worker, CLI).

Values come from ``TRACEHUB_*`` environment variables, overridden by command-line flags; a
bad value stops start-up with a message that names the setting, never a traceback.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


def default_data_dir() -> Path:
    return Path("~/.tracehub").expanduser()


class Settings(BaseSettings):
    """Server configuration; the docs' configuration reference is generated from it."""

    model_config = SettingsConfigDict(env_prefix="TRACEHUB_", extra="ignore")

    #: External PostgreSQL; when unset, an embedded PostgreSQL (pgserver) under data_dir is used.
    database_url: str | None = None
    #: RabbitMQ; when unset, batches are processed in-process (no broker).
    amqp_url: str | None = None
    #: Where the embedded PostgreSQL keeps its data (``pgdata/``).
    data_dir: Path = Field(default_factory=default_data_dir)
    #: Interface the HTTP server (and the worker's metrics endpoint) binds.
    host: str = "127.0.0.1"
    #: Port of the HTTP server: ingest, query API and dashboard.
    port: int = Field(default=8000, ge=1, le=65535)
    #: The ingest queue; dead-lettered messages go to ``<name>.dead``.
    queue_name: str = "log_ingestion"
    #: ``quorum`` for a replicated queue on a RabbitMQ cluster; fixed when first declared.
    queue_type: Literal["classic", "quorum"] = "classic"
    #: Days of logs kept (whole daily partitions are dropped); older timestamps are replaced
    #: by the receive time on ingest.
    retention_days: int = Field(default=30, ge=1, le=3650)
    #: Per-project ingest rate limit in entries per second; 0 disables it. Each HTTP process
    #: counts on its own, so with ``workers`` N a project may send up to N times this.
    rate_limit_per_second: float = Field(default=0.0, ge=0)
    #: Messages waiting in the queue above which ingest answers 429.
    max_queue_depth: int = Field(default=100_000, ge=1)
    #: Seconds an API-key lookup is cached in-process (a revoked key stops working within this).
    api_key_cache_seconds: float = Field(default=5.0, ge=0, le=300)
    #: Secret for session and CSRF tokens; generated and kept under data_dir when unset.
    secret_key: str | None = None
    #: Reverse proxies whose X-Forwarded-For/-Proto are believed: comma-separated addresses
    #: or networks (``10.0.0.0/8,127.0.0.1``). Empty: none, the peer address is the client.
    trusted_proxies: str = ""
    #: Level of the server's own log on stderr.
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    #: HTTP worker processes of ``tracehub server`` (uvicorn ``--workers``).
    workers: int = Field(default=1, ge=1, le=64)
    #: Seconds the API waits for the broker's confirm before answering 503.
    publish_timeout_seconds: float = Field(default=10.0, gt=0, le=120)
    #: Seconds an ingest request may take to send its whole body (else 408).
    body_timeout_seconds: float = Field(default=30.0, gt=0, le=3600)
    #: Bytes per second an ingest body must average after its first 5 s (else 408); 0: none.
    body_min_rate: float = Field(default=4096.0, ge=0)
    #: Ingest bodies an API process reads at once; more answer 503 with Retry-After.
    max_concurrent_bodies: int = Field(default=64, ge=1, le=100_000)
    #: MiB that the ingest bodies being read may hold together per API process (else 503).
    body_memory_mb: int = Field(default=256, ge=1, le=1_000_000)
    #: Child processes per API process that parse large ingest bodies off the event loop;
    #: 0 parses every body in the event loop (a huge body then stalls other requests).
    parse_processes: int = Field(default=1, ge=0, le=64)
    #: Decompressed ingest bodies of at least this many bytes are parsed in those processes.
    parse_offload_bytes: int = Field(default=256 * 1024, ge=1)
    #: Messages an API process has awaiting the broker's confirm at once; requests arriving
    #: meanwhile are grouped into the next message (fewer, larger messages under load).
    publish_in_flight: int = Field(default=1, ge=1, le=64)
    #: Deliveries of a message before it goes to the dead-letter queue.
    max_delivery_attempts: int = Field(default=5, ge=1, le=100)
    #: Unacknowledged messages a worker holds (RabbitMQ prefetch).
    worker_prefetch: int = Field(default=400, ge=1, le=65535)
    #: Messages a worker digests in one transaction at most.
    worker_batch_messages: int = Field(default=300, ge=1, le=10_000)
    #: Seconds a worker waits to fill a batch once it holds its first message. Larger
    #: digests cost PostgreSQL less per row (``bench/bench_server.py``: 0.05 s -> 0.15 s
    #: gave ~8 % more entries/s committed); it is also the delay before a lone entry is stored.
    worker_batch_seconds: float = Field(default=0.15, ge=0, le=60)
    #: Serve the API processes' Prometheus metrics at ``/metrics`` on the public port. Off by
    #: default: they describe traffic and errors; allow only your scraper to reach them.
    metrics_public: bool = False
    #: Port of the worker's Prometheus endpoint; unset means none.
    metrics_port: int | None = Field(default=None, ge=1, le=65535)
    #: Base URL at which users and clients reach this server (``https://tracehub.example.com``):
    #: links in notifications, the DSN and ingest snippets shown in the dashboard. Unset: taken
    #: from each request's own URL, and links in notifications are left relative.
    public_url: str | None = None
    #: Outgoing mail server for alert emails: ``smtp://user:password@host:587`` (STARTTLS when
    #: the server offers it; required to send a password) or ``smtps://…:465`` (TLS from the
    #: start). The password is never logged or shown. Unset: email channels cannot send.
    smtp_url: str | None = None
    #: The From address of alert emails.
    smtp_from: str = "tracehub@localhost"
    #: Alert messages per project per hour; beyond it they are folded into a digest.
    alert_hourly_cap: int = Field(default=20, ge=1, le=10_000)
    #: Minutes between two digests of folded alerts of one project.
    alert_digest_minutes: float = Field(default=10.0, gt=0, le=1440)
    #: Seconds between two runs of the alert dispatcher (plan triggers, deliver due ones).
    alert_dispatch_seconds: float = Field(default=2.0, gt=0, le=300)
    #: Seconds between two evaluations of the windowed (frequency, log volume) alert rules.
    alert_evaluate_seconds: float = Field(default=30.0, gt=0, le=3600)
    #: Hours an alert notification is retried before it is marked failed.
    alert_deadline_hours: float = Field(default=24.0, gt=0, le=720)
    #: Offer a sign-up form on the login page (``TRACEHUB_SIGNUP``). New accounts wait,
    #: unable to log in, until an admin approves them on the Users page. Off by default.
    signup: bool = False

    @field_validator("queue_name")
    @classmethod
    def _check_queue_name(cls, value: str) -> str:
        if not value or len(value) > 200 or not value.isprintable():
            raise ValueError("must be 1-200 printable characters")
        return value

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

    @field_validator("public_url")
    @classmethod
    def _check_public_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not value.startswith(("http://", "https://")):
            raise ValueError(
                "must start with http:// or https:// (for example https://tracehub.example.com)"
            )
        return value.rstrip("/")

    @field_validator("smtp_url")
    @classmethod
    def _check_smtp_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("smtp://", "smtps://")):
            raise ValueError("must start with smtp:// or smtps:// (for example smtp://host:587)")
        return value

    @property
    def embedded(self) -> bool:
        """True when no external database is configured."""
        return self.database_url is None


class ConfigError(ValueError):
    """A setting is invalid; the message names it and says what is expected."""


def load_settings(**overrides: Any) -> Settings:
    """Settings from ``TRACEHUB_*`` variables, overridden by the non-None ``overrides`` (flags).

    Raises :class:`ConfigError` with one line per invalid setting, named as its environment
    variable, instead of pydantic's multi-line report.
    """
    flags = {name: value for name, value in overrides.items() if value is not None}
    try:
        return Settings(**flags)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            name = ".".join(str(part) for part in error["loc"]) or "settings"
            value = error.get("input")
            # URLs and secrets may carry passwords: never echo them.
            secret = any(word in name for word in ("url", "secret"))
            shown = "" if secret or isinstance(value, dict) else f" (got {str(value)[:80]!r})"
            message = error["msg"].removeprefix("Value error, ")
            problems.append(f"TRACEHUB_{name.upper()}: {message}{shown}")
        raise ConfigError("; ".join(problems)) from None
