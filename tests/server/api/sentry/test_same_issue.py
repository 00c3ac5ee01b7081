"""One bug reported by our SDK, by sentry-sdk and through OpenTelemetry lands in one issue."""

from __future__ import annotations

import logging
import secrets
import sys
import warnings
from pathlib import Path

import pytest
import sentry_sdk
from live_server import issues, stored
from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
from opentelemetry.sdk._logs import LoggerProvider, LoggingHandler
from opentelemetry.sdk._logs.export import SimpleLogRecordProcessor

import task_group_app
from tracehub import TraceHubLogger


class CheckoutError(Exception):
    """The application's exception, raised from a cause."""


def _fetch_price(sku: str) -> int:
    prices: dict[str, int] = {}
    return prices[sku]


def _total(skus: list[str]) -> int:
    return sum(_fetch_price(sku) for sku in skus)


def checkout(skus: list[str]) -> int:
    """The one code path every client reports from."""
    try:
        return _total(skus)
    except KeyError as exc:
        raise CheckoutError(f"no price for {exc}") from exc


def _raised(sku: str) -> CheckoutError:
    try:
        checkout([sku])
    except CheckoutError as exc:
        return exc
    raise AssertionError("checkout did not raise")


def _report_natively(url: str, key: str, tmp_path: Path, exc: BaseException) -> None:
    logger = TraceHubLogger(
        api_key=key, service="shop", environment="test", endpoint=url, dlq_path=tmp_path / "dlq"
    )
    try:
        logger.error("checkout failed", exception=exc)
        assert logger.flush(timeout=10)
    finally:
        logger.close()


def _report_with_sentry(url: str, project_id: int, key: str, exc: BaseException) -> None:
    host = url.removeprefix("http://")
    sentry_sdk.init(dsn=f"http://{key}@{host}/{project_id}", default_integrations=False)
    try:
        sentry_sdk.capture_exception(exc)
        sentry_sdk.flush(timeout=10)
    finally:
        sentry_sdk.get_client().close(timeout=5)
        sentry_sdk.init()


def _report_with_opentelemetry(url: str, key: str, exc: BaseException) -> None:
    provider = LoggerProvider()
    exporter = OTLPLogExporter(endpoint=f"{url}/v1/logs", headers={"x-api-key": key})
    provider.add_log_record_processor(SimpleLogRecordProcessor(exporter))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        handler = LoggingHandler(logger_provider=provider)
    logger = logging.getLogger(f"shop.{secrets.token_hex(3)}")
    logger.propagate = False
    logger.addHandler(handler)
    try:
        logger.error("checkout failed", exc_info=(type(exc), exc, exc.__traceback__))
    finally:
        logger.removeHandler(handler)
        provider.shutdown()


def test_the_same_bug_is_one_issue_whichever_client_reports_it(
    server_url, project_key, migrated_database_url, tmp_path
) -> None:
    """Our SDK, sentry-sdk and the OTLP exporter report one chained error from one code path:
    the grouping reads the same frames, chain and type from each, so one issue holds all."""
    project_id, key = project_key
    _report_natively(server_url, key, tmp_path, _raised("sku-native"))
    _report_with_sentry(server_url, project_id, key, _raised("sku-sentry"))
    _report_with_opentelemetry(server_url, key, _raised("sku-otel"))
    _assert_one_issue(migrated_database_url, project_id, "CheckoutError")


def _assert_one_issue(database_url: str, project_id: int, error_type: str) -> None:
    rows = stored(database_url, project_id)
    assert len(rows) == 3
    assert {r["error_type"] for r in rows} == {error_type}
    [issue] = issues(database_url, project_id)
    assert issue["event_count"] == 3
    assert {r["issue_id"] for r in rows} == {issue["id"]}


@pytest.mark.skipif(sys.version_info < (3, 11), reason="asyncio.TaskGroup needs Python 3.11")
def test_a_task_group_failure_is_one_issue_whichever_client_reports_it(
    server_url, project_key, migrated_database_url, tmp_path
) -> None:
    """An exception group: our SDK's text, sentry-sdk's values (printed as Python prints the
    group) and the OTLP exporter's text are read as the same group, members and frames."""
    project_id, key = project_key
    _report_natively(server_url, key, tmp_path, task_group_app.failure("u1"))
    _report_with_sentry(server_url, project_id, key, task_group_app.failure("u2"))
    _report_with_opentelemetry(server_url, key, task_group_app.failure("u3"))
    _assert_one_issue(migrated_database_url, project_id, "ExceptionGroup")
