"""Code written against ``tracehub-logger`` 1.2.0's documented API runs unchanged on ours.

The documented API (its README's API reference and examples): the constructor with four
positional parameters, the five level methods with ``module`` / ``extra`` and the error
arguments, ``flush()`` / ``close()``, ``tracehub.enricher``'s trace-id functions, the
exception tree, the package's exported names, and the wire fields each entry carries.
Where ours deliberately differs, ``docs/sdk/migrating.md`` says so.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import tracehub
from tracehub import (
    DEFAULT_ENDPOINT,
    TraceHubConfigError,
    TraceHubError,
    TraceHubLogger,
    TraceHubTransportError,
)
from tracehub.enricher import clear_trace_id, get_trace_id, set_trace_id
from tracehub.testing import LocalReceiver

WAIT = 10.0
#: 1.2.0's timestamp: ``isoformat(timespec="milliseconds")`` of a UTC time.
TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00$")
#: Fields 1.2.0 always sent (``LogEntry.to_dict``); ours adds ``event_id``.
ALWAYS = {
    "level", "message", "timestamp", "service", "environment", "host", "pid", "thread_id",
    "sdk_version",
}  # fmt: skip


@pytest.fixture
def positional(rx: LocalReceiver, tmp_path: Path) -> Iterator[Callable[..., TraceHubLogger]]:
    """Loggers built the 1.2.0 way: positional api_key, service, environment, endpoint."""
    made: list[TraceHubLogger] = []

    def make(**options: object) -> TraceHubLogger:
        logger = TraceHubLogger(
            "th_test", "legacy-svc", "test", rx.url,
            flush_interval=0.05, dlq_path=str(tmp_path / "dlq"), **options,
        )  # fmt: skip
        made.append(logger)
        return logger

    yield make
    for logger in made:
        logger.close(timeout=5)


@pytest.fixture(autouse=True)
def _no_endpoint_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """The default endpoint is not overridden from the environment."""
    monkeypatch.delenv("TRACEHUB_ENDPOINT", raising=False)


def test_the_four_leading_parameters_may_be_positional(positional: Callable) -> None:
    """``TraceHubLogger(api_key, service, environment, endpoint)`` as in 1.2.0."""
    logger = positional()
    assert (logger.config.service, logger.config.environment) == ("legacy-svc", "test")
    assert logger.config.api_key == "th_test"


def test_options_after_endpoint_stay_keyword_only(rx: LocalReceiver) -> None:
    """1.2.0's signature had ``*`` after endpoint; so does ours."""
    with pytest.raises(TypeError):
        TraceHubLogger("th_test", "svc", "test", rx.url, 50)  # type: ignore[misc]


def test_keyword_construction_still_works(rx: LocalReceiver, tmp_path: Path) -> None:
    """The README's keyword form is unchanged."""
    logger = TraceHubLogger(
        api_key="th_test", service="svc", environment="prod", endpoint=rx.url, dlq_path=None
    )
    logger.close(timeout=1)
    assert logger.config.endpoint == rx.url


@pytest.mark.parametrize("endpoint", ["", None])
def test_empty_endpoint_means_the_default(endpoint: str | None) -> None:
    """``endpoint=""`` (1.2.0's default value) is the default endpoint, not an error."""
    logger = TraceHubLogger("th_test", "svc", "test", endpoint, dlq_path=None)  # type: ignore[arg-type]
    logger.close(timeout=0)
    assert logger.config.endpoint == DEFAULT_ENDPOINT == tracehub.DEFAULT_ENDPOINT


def test_assigning_default_endpoint_before_construction_is_honoured(
    monkeypatch: pytest.MonkeyPatch, rx: LocalReceiver
) -> None:
    """1.2.0 read ``tracehub.DEFAULT_ENDPOINT`` when a logger was built; so do we."""
    monkeypatch.setattr(tracehub, "DEFAULT_ENDPOINT", rx.url)
    logger = TraceHubLogger("th_test", "svc", "test", dlq_path=None)
    logger.close(timeout=0)
    assert logger.config.endpoint == rx.url


@pytest.mark.parametrize("key", ["", None])
def test_api_key_is_required(key: str | None) -> None:
    """A missing key is a TraceHubConfigError naming ``api_key``."""
    with pytest.raises(TraceHubConfigError, match="api_key"):
        TraceHubLogger(key, "svc", "test")  # type: ignore[arg-type]


def test_exception_tree_and_messages() -> None:
    """Config and transport errors are TraceHubErrors; the message is what was passed."""
    assert issubclass(TraceHubConfigError, TraceHubError)
    assert issubclass(TraceHubTransportError, TraceHubError)
    assert issubclass(TraceHubError, Exception)
    assert str(TraceHubConfigError("api_key is required")) == "api_key is required"
    assert str(TraceHubTransportError("connection refused")) == "connection refused"


def test_trace_id_is_an_empty_string_when_unset() -> None:
    """``get_trace_id()`` returns ``""``, so ``"req-" + get_trace_id()`` always works."""
    clear_trace_id()
    assert get_trace_id() == ""
    assert "req-" + get_trace_id() == "req-"
    set_trace_id("trace-123")
    assert get_trace_id() == "trace-123"
    clear_trace_id()
    assert get_trace_id() == ""


def test_public_names_of_1_2_0_exist() -> None:
    """Every name 1.2.0 exported from ``tracehub`` is exported by ours."""
    original = {
        "TraceHubLogger", "TraceHubError", "TraceHubConfigError", "TraceHubTransportError",
        "DEFAULT_ENDPOINT",
    }  # fmt: skip
    assert original <= set(tracehub.__all__)
    assert isinstance(tracehub.__version__, str)


def test_every_documented_call_sends_its_wire_fields(
    rx: LocalReceiver, positional: Callable
) -> None:
    """The README's calls arrive with 1.2.0's fields, empty optionals left out; the one
    addition is ``exception``, the structured chain beside the text trace (servers that do
    not know it ignore it)."""
    logger = positional()
    logger.debug("Verbose diagnostic info", module="db")
    logger.info("User logged in", module="auth", extra={"user_id": "usr_42", "ip": "10.0.0.1"})
    logger.warn("Something looks unusual")
    try:
        raise ValueError("test error")
    except ValueError:
        logger.error("Payment failed", exc_info=True, module="billing", extra={"order_id": 123})
    logger.error("Negative balance detected", exc_info=True, module="accounts")
    logger.fatal("Query failed", exception=RuntimeError("relation does not exist"))
    logger.error(
        "Upstream service returned error",
        error_message="503 Service Unavailable",
        stack_trace="remote trace",
        module="gateway",
    )
    logger.flush()
    logger.close()
    entries = {e["message"]: e for e in rx.entries}
    assert len(entries) == 7
    for entry in entries.values():
        assert set(entry) - ALWAYS <= {
            "event_id", "trace_id", "module", "stack_trace", "error_type", "error_message",
            "extra", "exception",
        }  # fmt: skip
        assert set(entry) >= ALWAYS
        assert TIMESTAMP.match(entry["timestamp"])
        assert entry["thread_id"] == threading.current_thread().name
        assert "trace_id" not in entry
    assert entries["Verbose diagnostic info"]["level"] == "DEBUG"
    assert "extra" not in entries["Something looks unusual"]
    assert "module" not in entries["Something looks unusual"]
    assert entries["User logged in"]["extra"] == {"user_id": "usr_42", "ip": "10.0.0.1"}
    caught = entries["Payment failed"]
    assert (caught["error_type"], caught["error_message"]) == ("ValueError", "test error")
    assert "ValueError: test error" in caught["stack_trace"]
    assert "test_compat_1_2_0.py" in entries["Negative balance detected"]["stack_trace"]
    passed = entries["Query failed"]
    assert (passed["level"], passed["error_type"]) == ("FATAL", "RuntimeError")
    assert passed["error_message"] == "relation does not exist"
    explicit = entries["Upstream service returned error"]
    assert (explicit["error_message"], explicit["stack_trace"]) == (
        "503 Service Unavailable",
        "remote trace",
    )


def test_trace_id_is_sent_when_set(rx: LocalReceiver, positional: Callable) -> None:
    """An id set with ``set_trace_id`` is on the entries logged under it."""
    logger = positional()
    set_trace_id("my-trace")
    try:
        logger.info("traced")
    finally:
        clear_trace_id()
    logger.close()
    assert rx.entries[0]["trace_id"] == "my-trace"


def test_thread_id_is_the_logging_threads_name(rx: LocalReceiver, positional: Callable) -> None:
    """Each entry names the thread that logged it, as 1.2.0 did."""
    logger = positional()
    worker = threading.Thread(target=lambda: logger.info("from worker"), name="worker-7")
    worker.start()
    worker.join(WAIT)
    logger.info("from main")
    logger.close()
    names = {e["message"]: e["thread_id"] for e in rx.entries}
    assert names == {"from worker": "worker-7", "from main": threading.current_thread().name}
