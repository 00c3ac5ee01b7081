"""The zero-configuration database: an embedded PostgreSQL (pgserver) under ``data_dir``.

With no ``TRACEHUB_DATABASE_URL``, every TraceHub process (the server, each CLI command)
calls :func:`resolve_database_url`, which starts the PostgreSQL of
``TRACEHUB_DATA_DIR/pgdata`` or joins it if another process already runs it (pgserver keeps
a list of the processes using a data directory and stops PostgreSQL when the last exits).
So ``tracehub project create`` works whether or not ``tracehub server`` is running.
"""

from __future__ import annotations

import warnings

from tracehub_server.settings import ConfigError, Settings

#: Kept alive for the life of the process: dropping it lets pgserver stop PostgreSQL.
_servers: list[object] = []


def resolve_database_url(settings: Settings) -> str:
    """The configured database URL, or the embedded PostgreSQL's (started if needed)."""
    if settings.database_url:
        return settings.database_url
    try:
        with warnings.catch_warnings():
            # pgserver asks platformdirs for a runtime dir at import; without XDG_RUNTIME_DIR
            # (servers, containers, root shells) that warns on every CLI call, to no purpose.
            warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")
            import pgserver
    except ImportError:
        raise ConfigError(
            "TRACEHUB_DATABASE_URL is not set and the embedded PostgreSQL (the pgserver "
            "package, available for CPython 3.10-3.12) is not installed: set "
            "TRACEHUB_DATABASE_URL=postgresql://user@host/db"
        ) from None
    pgdata = settings.data_dir.expanduser() / "pgdata"
    try:
        pgdata.parent.mkdir(parents=True, exist_ok=True)
        server = pgserver.get_server(pgdata)
    except Exception as exc:  # pgserver raises many kinds; all mean "cannot start it"
        raise ConfigError(
            f"cannot start the embedded PostgreSQL in {pgdata}: {type(exc).__name__}: {exc}; "
            "check TRACEHUB_DATA_DIR is writable, or set TRACEHUB_DATABASE_URL"
        ) from None
    _servers.append(server)
    return server.get_uri()
