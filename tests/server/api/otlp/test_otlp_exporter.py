"""The real opentelemetry-sdk and its OTLP/HTTP exporter shipping stdlib logging to a server."""

from __future__ import annotations

import logging
import secrets
import warnings
from collections.abc import Iterator

import pytest
from live_server import issues, stored
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
from opentelemetry.sdk._logs import LoggerProvider, LoggingHandler
from opentelemetry.sdk._logs.export import SimpleLogRecordProcessor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider

RESOURCE = {
    "service.name": "checkout",
    "deployment.environment.name": "prod",
    "host.name": "web-1",
    "process.pid": 4242,
    "team": "payments",
}


@pytest.fixture
def otel_logger(server_url: str, project_key: tuple[int, str]) -> Iterator[logging.Logger]:
    """A stdlib logger whose records the OTLP exporter posts to the server (gzip)."""
    exporter = OTLPLogExporter(
        endpoint=f"{server_url}/v1/logs",
        headers={"x-api-key": project_key[1]},
        compression=Compression.Gzip,
        timeout=10,
    )
    provider = LoggerProvider(resource=Resource.create(RESOURCE))
    provider.add_log_record_processor(SimpleLogRecordProcessor(exporter))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # the handler moves packages
        handler = LoggingHandler(level=logging.DEBUG, logger_provider=provider)
    logger = logging.getLogger(f"app.payments.{secrets.token_hex(3)}")
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    logger.addHandler(handler)
    try:
        yield logger
    finally:
        logger.removeHandler(handler)
        provider.shutdown()


def _charge(amount: int) -> None:
    _validate(amount)


def _validate(amount: int) -> None:
    if amount < 0:
        raise ValueError(f"amount must be positive, got {amount}")


def test_levels_attributes_and_resource_are_stored(
    otel_logger, migrated_database_url, project_key
) -> None:
    """Each stdlib level maps to ours; resource fields and typed attributes are kept."""
    otel_logger.debug("debug line")
    otel_logger.info("paid %s", 12, extra={"order_id": 7, "vip": True, "ratio": 0.5})
    otel_logger.warning("slow")
    otel_logger.error("failed")
    otel_logger.critical("down")
    rows = stored(migrated_database_url, project_key[0])
    assert [r["level"] for r in rows] == ["DEBUG", "INFO", "WARN", "ERROR", "FATAL"]
    info = rows[1]
    assert info["message"] == "paid 12"
    assert (info["service"], info["environment"], info["host"], info["pid"]) == (
        "checkout", "prod", "web-1", 4242
    )  # fmt: skip
    assert info["module"] == otel_logger.name
    assert info["extra"]["order_id"] == 7
    assert info["extra"]["vip"] is True
    assert info["extra"]["ratio"] == 0.5
    assert info["extra"]["team"] == "payments"
    assert info["extra"]["code.function.name"] == "test_levels_attributes_and_resource_are_stored"


def test_exception_with_exc_info_becomes_an_issue(
    otel_logger, migrated_database_url, project_key
) -> None:
    """``logger.exception`` fills the error fields; the same bug twice is one issue."""
    for amount in (-1, -2):
        try:
            _charge(amount)
        except ValueError:
            otel_logger.exception("charge failed")
    rows = stored(migrated_database_url, project_key[0])
    assert [r["error_type"] for r in rows] == ["ValueError", "ValueError"]
    assert rows[0]["error_message"] == "amount must be positive, got -1"
    assert "in _validate\n" in rows[0]["stack_trace"]
    assert "exception.stacktrace" not in rows[0]["extra"]
    [issue] = issues(migrated_database_url, project_key[0])
    assert issue["event_count"] == 2
    assert {r["issue_id"] for r in rows} == {issue["id"]}


def test_trace_context_of_the_current_span_is_kept(
    otel_logger, migrated_database_url, project_key
) -> None:
    """A record logged inside a span carries its trace id (hex) and span id."""
    tracer = TracerProvider().get_tracer("test")
    with tracer.start_as_current_span("checkout") as span:
        otel_logger.info("inside a span")
        context = span.get_span_context()
    [row] = stored(migrated_database_url, project_key[0])
    assert row["trace_id"] == format(context.trace_id, "032x")
    assert row["extra"]["span_id"] == format(context.span_id, "016x")
