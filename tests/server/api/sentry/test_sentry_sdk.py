"""The real sentry-sdk pointed at a DSN of ours: errors, messages, logs, a Flask app."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable, Iterator
from urllib.parse import urlsplit

import pytest
import sentry_sdk
from live_server import issues, stored
from sentry_sdk.integrations.logging import LoggingIntegration


def dsn_of(server_url: str, project_key: tuple[int, str]) -> str:
    """The DSN the settings page shows: http://<key>@<host>/<project_id>."""
    host = urlsplit(server_url).netloc
    return f"http://{project_key[1]}@{host}/{project_key[0]}"


@pytest.fixture
def start_sentry(server_url: str, project_key: tuple[int, str]) -> Iterator[Callable[..., None]]:
    """``start_sentry(**options)`` initialises sentry-sdk on our DSN; closed after the test."""

    def start(**options: object) -> None:
        options.setdefault("default_integrations", False)
        sentry_sdk.init(dsn=dsn_of(server_url, project_key), **options)

    yield start
    sentry_sdk.get_client().close(timeout=5)
    sentry_sdk.init()  # a disabled client, so no other test reports here


class PaymentError(Exception):
    """An application exception (its module shows in the traceback's last line)."""


def _lookup(sku: str) -> None:
    raise KeyError(sku)


def _reserve(sku: str) -> None:
    _lookup(sku)


def _charge(sku: str) -> None:
    try:
        _reserve(sku)
    except KeyError as exc:
        raise PaymentError(f"cannot charge {sku}") from exc


def _recurse(depth: int) -> None:
    if depth == 0:
        raise ValueError("bottom")
    _recurse(depth - 1)


@pytest.mark.parametrize("compression", ["br", "gzip"])
def test_chained_exception_is_stored_with_its_trace(
    start_sentry, migrated_database_url, project_key, compression
) -> None:
    """capture_exception of a chained error (brotli or gzip bodies) stores the chain as a
    Python traceback with the raised exception's type and message."""
    start_sentry(
        environment="prod", server_name="web-3", _experiments={"transport_compression_algo":
                                                                compression}
    )  # fmt: skip
    try:
        _charge("sku-1")
    except PaymentError as exc:
        event_id = sentry_sdk.capture_exception(exc)
    assert sentry_sdk.flush(timeout=10) is not False
    [row] = stored(migrated_database_url, project_key[0])
    assert row["event_id"].hex == event_id
    assert (row["level"], row["environment"], row["host"]) == ("ERROR", "prod", "web-3")
    assert (row["error_type"], row["error_message"]) == ("PaymentError", "cannot charge sku-1")
    assert row["message"] == "PaymentError: cannot charge sku-1"
    trace = row["stack_trace"]
    assert trace.startswith("Traceback (most recent call last):\n")
    assert "The above exception was the direct cause of the following exception:" in trace
    assert trace.index("in _lookup\n") < trace.index("The above exception")
    assert trace.endswith(f"{__name__}.PaymentError: cannot charge sku-1\n")
    assert row["extra"]["platform"] == "python"
    assert row["sdk_version"].startswith("sentry.python")
    assert len(issues(migrated_database_url, project_key[0])) == 1


def test_deep_exceptions_group_together(start_sentry, migrated_database_url, project_key) -> None:
    """Errors raised many frames deep (recursion) from one place make one issue."""
    start_sentry()
    for depth in (30, 45):
        try:
            _recurse(depth)
        except ValueError as exc:
            sentry_sdk.capture_exception(exc)
    sentry_sdk.flush(timeout=10)
    rows = stored(migrated_database_url, project_key[0])
    assert len(rows) == 2
    assert rows[0]["stack_trace"].count("in _recurse\n") == 31
    [issue] = issues(migrated_database_url, project_key[0])
    assert issue["event_count"] == 2


def test_capture_message_and_levels(start_sentry, migrated_database_url, project_key) -> None:
    """capture_message keeps its text and level; tags and extra land in ``extra``."""
    start_sentry()
    sentry_sdk.set_tag("service", "billing")
    sentry_sdk.set_tag("region", "eu")
    sentry_sdk.set_extra("order", {"id": 7})
    sentry_sdk.set_user({"id": "u1"})
    sentry_sdk.capture_message("disk almost full", level="warning")
    sentry_sdk.capture_message("hello")
    sentry_sdk.flush(timeout=10)
    rows = sorted(stored(migrated_database_url, project_key[0]), key=lambda r: r["message"])
    assert [(r["message"], r["level"]) for r in rows] == [
        ("disk almost full", "WARN"),
        ("hello", "INFO"),
    ]
    assert rows[0]["service"] == "billing"
    assert rows[0]["extra"]["tags"] == {"service": "billing", "region": "eu"}
    assert rows[0]["extra"]["extra"] == {"order": {"id": 7}}
    assert rows[0]["extra"]["user"] == {"id": "u1"}


def test_logging_integration_events_and_logs(
    start_sentry, migrated_database_url, project_key
) -> None:
    """An ERROR through stdlib logging is an event; Sentry logs (enable_logs) are entries."""
    start_sentry(
        enable_logs=True,
        integrations=[LoggingIntegration(event_level=logging.ERROR, sentry_logs_level=None)],
    )
    logger = logging.getLogger(f"shop.{secrets.token_hex(3)}")
    logger.error("order %s failed", 42)
    sentry_sdk.logger.info("user {user} signed in", user="ana")
    sentry_sdk.logger.warning("quota at {pct}%", pct=91)
    sentry_sdk.flush(timeout=10)
    rows = {r["message"]: r for r in stored(migrated_database_url, project_key[0])}
    assert set(rows) == {"order 42 failed", "user ana signed in", "quota at 91%"}
    assert (rows["order 42 failed"]["level"], rows["order 42 failed"]["module"]) == (
        "ERROR", logger.name
    )  # fmt: skip
    signed_in = rows["user ana signed in"]
    assert signed_in["level"] == "INFO"
    assert signed_in["extra"]["sentry.message.template"] == "user {user} signed in"
    assert signed_in["extra"]["sentry.message.parameter.user"] == "ana"
    assert rows["quota at 91%"]["level"] == "WARN"


def test_custom_fingerprint_is_accepted(start_sentry, migrated_database_url, project_key) -> None:
    """An event with a custom fingerprint is stored (the key reaches the validator)."""
    start_sentry()
    with sentry_sdk.new_scope() as scope:
        scope.fingerprint = ["payments", "{{ default }}"]
        sentry_sdk.capture_message("custom grouping", level="error")
    sentry_sdk.flush(timeout=10)
    [row] = stored(migrated_database_url, project_key[0])
    assert row["message"] == "custom grouping"


def test_flask_integration_reports_unhandled_errors(
    start_sentry, migrated_database_url, project_key
) -> None:
    """Sentry's own Flask integration reports a view's unhandled exception, with the request."""
    flask = pytest.importorskip("flask")
    from sentry_sdk.integrations.flask import FlaskIntegration

    start_sentry(integrations=[FlaskIntegration()])
    app = flask.Flask(__name__)

    @app.route("/pay/<sku>")
    def pay(sku: str) -> str:
        _charge(sku)
        return "ok"

    assert app.test_client().get("/pay/sku-9").status_code == 500
    sentry_sdk.flush(timeout=10)
    [row] = stored(migrated_database_url, project_key[0])
    assert row["error_type"] == "PaymentError"
    assert row["extra"]["request"]["url"].endswith("/pay/sku-9")
    assert row["extra"]["transaction"] == "pay"
