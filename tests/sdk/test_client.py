"""TraceHubLogger end to end over real HTTP: configuration, wire format, capture, lifecycle."""

from __future__ import annotations

import builtins
import datetime as dt
import decimal
import enum
import gzip
import inspect
import json
import re
import subprocess
import sys
import textwrap
import threading
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sdk_helpers import WAIT, messages

from tracehub import (
    TraceHubConfigError,
    TraceHubError,
    TraceHubLogger,
    get_default_logger,
    set_default_logger,
)
from tracehub.enricher import set_trace_id
from tracehub.limits import MAX_MESSAGE_CHARS, MAX_STACK_TRACE_CHARS
from tracehub.testing import LocalReceiver

MakeLogger = Callable[..., TraceHubLogger]
REQUIRED = {"api_key": "k", "service": "svc", "environment": "test", "dlq_path": None}
TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}\+00:00$")
BASE_FIELDS = {
    "level", "message", "timestamp", "service", "environment", "host", "pid",
    "thread_id", "sdk_version", "event_id",
}  # fmt: skip


# -- configuration -----------------------------------------------------------------------


def test_empty_api_key_is_rejected_with_the_documented_message() -> None:
    """An empty api_key raises TraceHubConfigError("api_key is required")."""
    with pytest.raises(TraceHubConfigError, match=r"^api_key is required$"):
        TraceHubLogger(**{**REQUIRED, "api_key": ""})


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("service", ""),
        ("environment", None),
        ("batch_size", 0),
        ("batch_size", 1.5),
        ("max_buffer", 0),
        ("flush_interval", -1),
        ("timeout", -0.1),
        ("timeout", float("nan")),
        ("max_retries", -1),
        ("endpoint", "ftp://127.0.0.1"),
        ("endpoint", "127.0.0.1:8000"),
        ("endpoint", "http://"),
        ("endpoint", 8000),
        ("dlq_path", 42),
    ],
)
def test_invalid_settings_raise_config_error_naming_the_parameter(name: str, value: Any) -> None:
    """Each invalid setting raises TraceHubConfigError whose message names it."""
    with pytest.raises(TraceHubConfigError, match=name) as info:
        TraceHubLogger(**{**REQUIRED, name: value})
    assert isinstance(info.value, TraceHubError)


def test_endpoint_defaults_to_env_var_then_localhost(monkeypatch: pytest.MonkeyPatch) -> None:
    """endpoint falls back to TRACEHUB_ENDPOINT, else http://127.0.0.1:8000."""
    monkeypatch.delenv("TRACEHUB_ENDPOINT", raising=False)
    assert TraceHubLogger(**REQUIRED).config.endpoint == "http://127.0.0.1:8000"
    monkeypatch.setenv("TRACEHUB_ENDPOINT", "http://127.0.0.1:9999/")
    assert TraceHubLogger(**REQUIRED).config.endpoint == "http://127.0.0.1:9999"


def test_construction_starts_no_thread() -> None:
    """A logger that is only constructed (a pre-fork master) starts no worker thread."""
    TraceHubLogger(**REQUIRED)
    assert not [t for t in threading.enumerate() if t.name == "tracehub-worker" and t.is_alive()]


# -- wire format -------------------------------------------------------------------------


def test_batch_is_gzipped_json_with_the_documented_headers(
    rx: LocalReceiver, make_logger: MakeLogger
) -> None:
    """The POST goes to /api/v1/ingest, gzipped, with X-API-Key and Content-Type."""
    logger = make_logger()
    logger.info("hello")
    assert logger.flush(WAIT)
    request = rx.requests[0]
    assert (request.method, request.path) == ("POST", "/api/v1/ingest")
    assert request.headers["x-api-key"] == "test-key"
    assert request.headers["content-type"] == "application/json"
    assert request.headers["content-encoding"] == "gzip"
    assert json.loads(gzip.decompress(request.raw_body))[0]["message"] == "hello"


def test_compress_false_sends_plain_json(rx: LocalReceiver, make_logger: MakeLogger) -> None:
    """compress=False sends an uncompressed body without Content-Encoding."""
    logger = make_logger(compress=False)
    logger.info("plain")
    assert logger.flush(WAIT)
    assert "content-encoding" not in rx.requests[0].headers
    assert json.loads(rx.requests[0].raw_body)[0]["message"] == "plain"


def test_entry_has_every_required_field_and_no_nulls(
    rx: LocalReceiver, make_logger: MakeLogger
) -> None:
    """A plain entry carries exactly the required fields; optional ones are omitted."""
    logger = make_logger()
    logger.info("plain")
    assert logger.flush(WAIT)
    entry = rx.entries[0]
    assert set(entry) == BASE_FIELDS
    assert TIMESTAMP.match(entry["timestamp"])
    assert uuid.UUID(entry["event_id"]).version == 4
    assert len(entry["event_id"]) == 32
    assert (entry["service"], entry["environment"]) == ("sdk-test", "test")
    assert entry["thread_id"] == threading.current_thread().name
    assert None not in entry.values()


def test_every_level_and_alias_arrives_with_its_wire_name(
    rx: LocalReceiver, make_logger: MakeLogger
) -> None:
    """debug/info/warn/warning/error/fatal/critical/log map to DEBUG..FATAL."""
    logger = make_logger()
    logger.debug("d")
    logger.info("i")
    logger.warn("w")
    logger.warning("w2")
    logger.error("e")
    logger.fatal("f")
    logger.critical("c")
    logger.log("WARNING", "l1")
    logger.log("critical", "l2")
    logger.log(10, "l3")
    logger.log("nonsense", "l4")
    assert logger.flush(WAIT)
    assert [e["level"] for e in rx.entries] == [
        "DEBUG", "INFO", "WARN", "WARN", "ERROR", "FATAL", "FATAL",
        "WARN", "FATAL", "DEBUG", "INFO",
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("name", "level"), [("debug", "DEBUG"), ("info", "INFO"), ("warn", "WARN")]
)
def test_generated_level_methods_read_as_written_ones(name: str, level: str) -> None:
    """Each generated level method has its own name, docstring and the shared signature."""
    method = getattr(TraceHubLogger, name)
    assert method.__qualname__ == f"TraceHubLogger.{name}"
    assert method.__doc__ == f"Log at {level}. Never raises, never blocks."
    assert list(inspect.signature(method).parameters) == [
        "self", "message", "module", "extra", "exc_info",
    ]  # fmt: skip
    assert inspect.signature(method).parameters["message"].kind.name == "POSITIONAL_OR_KEYWORD"


def test_optional_fields_are_sent_when_set(rx: LocalReceiver, make_logger: MakeLogger) -> None:
    """module, extra and trace_id (context or explicit) appear when given."""
    logger = make_logger()
    token = set_trace_id("trace-1")
    try:
        logger.info("ctx", module="auth", extra={"user_id": 42})
        logger.log("INFO", "explicit", trace_id="trace-2")
    finally:
        token.var.reset(token)
    assert logger.flush(WAIT)
    first, second = rx.entries
    assert (first["module"], first["extra"], first["trace_id"]) == (
        "auth",
        {"user_id": 42},
        "trace-1",
    )
    assert second["trace_id"] == "trace-2"


# -- error capture -----------------------------------------------------------------------


def _raise_chained() -> None:
    try:
        raise KeyError("inner")
    except KeyError as exc:
        raise ValueError("outer") from exc


def test_exception_argument_captures_type_message_and_chained_trace(
    rx: LocalReceiver, make_logger: MakeLogger
) -> None:
    """exception=e sends its class name, str(e) and the full chained traceback."""
    logger = make_logger()
    try:
        _raise_chained()
    except ValueError as exc:
        caught = exc
    logger.error("failed", exception=caught)
    assert logger.flush(WAIT)
    entry = rx.entries[0]
    assert (entry["error_type"], entry["error_message"]) == ("ValueError", "outer")
    assert "KeyError: 'inner'" in entry["stack_trace"]
    assert "direct cause of the following exception" in entry["stack_trace"]
    assert "_raise_chained" in entry["stack_trace"]


def test_exc_info_inside_except_uses_the_current_exception(
    rx: LocalReceiver, make_logger: MakeLogger
) -> None:
    """exc_info=True inside except captures sys.exc_info(), implicit context included."""
    logger = make_logger()
    try:
        try:
            {}["missing"]
        except KeyError:
            raise RuntimeError("ctx")  # noqa: B904 - the implicit context is the point
    except RuntimeError:
        logger.fatal("crash", exc_info=True)
    assert logger.flush(WAIT)
    entry = rx.entries[0]
    assert entry["error_type"] == "RuntimeError"
    assert "During handling of the above exception" in entry["stack_trace"]


def test_exception_groups_are_formatted_as_python_prints_them(
    rx: LocalReceiver, make_logger: MakeLogger
) -> None:
    """An ExceptionGroup's sub-exceptions appear in the stack trace."""
    group_type = getattr(builtins, "ExceptionGroup", None)
    if group_type is None:
        pytest.skip("ExceptionGroup needs Python 3.11+")
    logger = make_logger()
    try:
        raise group_type("many", [ValueError("first"), TypeError("second")])
    except Exception as exc:
        logger.error("group", exception=exc)
    assert logger.flush(WAIT)
    trace = rx.entries[0]["stack_trace"]
    assert "ValueError: first" in trace
    assert "TypeError: second" in trace


def test_exc_info_outside_except_sends_the_callers_stack_without_sdk_frames(
    rx: LocalReceiver, make_logger: MakeLogger
) -> None:
    """exc_info=True outside except sends the caller's stack, starting outside tracehub."""
    logger = make_logger()

    def application_function() -> None:
        logger.warn("where am I", exc_info=True)

    application_function()
    assert logger.flush(WAIT)
    entry = rx.entries[0]
    assert "application_function" in entry["stack_trace"]
    assert "tracehub/client.py" not in entry["stack_trace"]
    assert "error_type" not in entry


def test_explicit_error_message_and_stack_trace_override_captured_ones(
    rx: LocalReceiver, make_logger: MakeLogger
) -> None:
    """error_message= and stack_trace= win over what exception= captured."""
    logger = make_logger()
    logger.error("x", exception=ValueError("captured"), error_message="mine", stack_trace="st")
    logger.error("y", error_message="only message")
    assert logger.flush(WAIT)
    first, second = rx.entries
    assert (first["error_type"], first["error_message"], first["stack_trace"]) == (
        "ValueError", "mine", "st",
    )  # fmt: skip
    assert second["error_message"] == "only message"
    assert "error_type" not in second


# -- hostile input -----------------------------------------------------------------------


class Colour(enum.Enum):
    RED = "red"


class Unprintable:
    def __str__(self) -> str:
        raise RuntimeError("no str for you")

    __repr__ = __str__


class LiesAboutItsClass:
    """An object whose ``__class__`` lookup raises (proxies and mocks can do worse)."""

    @property  # type: ignore[misc]
    def __class__(self) -> type:
        raise RuntimeError("no class for you")


def test_non_json_values_in_extra_are_converted_not_lost(
    rx: LocalReceiver, make_logger: MakeLogger
) -> None:
    """datetime, date, UUID, Decimal, set, bytes, Enum and objects arrive converted."""
    logger = make_logger()
    ident = uuid.uuid4()
    extra = {
        "when": dt.datetime(2026, 4, 6, 0, 30, tzinfo=dt.timezone.utc),
        "day": dt.date(2026, 4, 6),
        "id": ident,
        "price": decimal.Decimal("9.99"),
        "tags": {"a"},
        "raw": b"\x00\xff",
        "colour": Colour.RED,
        "obj": Unprintable(),
        "huge": 2**100,
        7: "int key",
        (1, 2): "tuple key",
    }
    logger.info("odd values", extra=extra)
    assert logger.flush(WAIT)
    got = rx.entries[0]["extra"]
    assert got["when"].startswith("2026-04-06T00:30:00")
    assert (got["day"], got["id"], got["price"], got["tags"]) == (
        "2026-04-06", str(ident), "9.99", ["a"],
    )  # fmt: skip
    assert got["colour"] == "red"
    assert got["huge"] == str(2**100)
    assert got["obj"].startswith("<unprintable")
    assert got["7"] == "int key"
    assert got["(1, 2)"] == "tuple key"


def test_extra_is_snapshotted_at_call_time(rx: LocalReceiver, make_logger: MakeLogger) -> None:
    """Mutating extra (and nested containers) after the call changes nothing sent."""
    logger = make_logger(flush_interval=60, batch_size=1000)
    extra: dict[str, Any] = {"n": 1, "nested": {"items": [1]}}
    logger.info("snap", extra=extra)
    extra["n"] = 2
    extra["nested"]["items"].append(2)
    extra["new"] = True
    assert logger.flush(WAIT)
    assert rx.entries[0]["extra"] == {"n": 1, "nested": {"items": [1]}}


@pytest.mark.parametrize(
    ("message", "extra"),
    [
        (None, None),
        (12345, "not a dict"),
        (Unprintable(), [1, 2, 3]),
        (b"bytes message", {"self": None}),
        ("\ud800 lone surrogate", {"s": "\udfff"}),
        ("deep", "DEEP"),
        ("LIAR", "LIAR"),
    ],
)
def test_logging_never_raises_and_never_loses_the_entry(
    rx: LocalReceiver, make_logger: MakeLogger, message: Any, extra: Any
) -> None:
    """Whatever the message and extra, the call returns and one entry arrives."""
    if isinstance(extra, dict) and "self" in extra:
        extra["self"] = extra  # a cycle
    if extra == "LIAR":  # built here: pytest's parameter ids would trip over it
        message, extra = LiesAboutItsClass(), {"liar": LiesAboutItsClass()}
    if extra == "DEEP":
        extra = {"deep": "bottom"}
        for _ in range(500):
            extra = {"deeper": [extra]}
    logger = make_logger()
    logger.info(message, extra=extra, module=object())
    logger.error(message, extra=extra, exception="not an exception", stack_trace=42)
    assert logger.flush(WAIT)
    assert len(rx.entries) == 2
    assert all(isinstance(e["message"], str) for e in rx.entries)


def test_oversized_fields_are_truncated_with_a_marker(
    rx: LocalReceiver, make_logger: MakeLogger
) -> None:
    """message, stack_trace and extra over their limits arrive cut, saying so."""
    logger = make_logger()
    logger.error(
        "m" * (MAX_MESSAGE_CHARS * 2),
        stack_trace="s" * (MAX_STACK_TRACE_CHARS * 2) + "RAISE SITE",
        extra={"blob": "x" * 100_000},
    )
    assert logger.flush(WAIT), logger.stats()
    assert rx.entries, (logger.stats(), rx.requests)
    entry = rx.entries[0]
    assert len(entry["message"]) <= MAX_MESSAGE_CHARS
    assert "[truncated" in entry["message"]
    assert len(entry["stack_trace"]) <= MAX_STACK_TRACE_CHARS
    assert entry["stack_trace"].endswith("RAISE SITE")
    assert entry["extra"]["_truncated"] is True
    assert entry["extra"]["_original_bytes"] > 100_000


def test_eight_threads_times_ten_thousand_logs_arrive_complete(
    rx: LocalReceiver, make_logger: MakeLogger
) -> None:
    """8 threads x 10,000 logs all arrive, each exactly once, when max_buffer is large."""
    logger = make_logger(max_buffer=100_000, batch_size=1000)

    def produce(worker: int) -> None:
        for i in range(10_000):
            logger.info(f"{worker}-{i}")

    threads = [threading.Thread(target=produce, args=(w,)) for w in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(WAIT * 4)
    assert logger.flush(WAIT * 4)
    got = messages(rx.entries)
    assert len(got) == 80_000
    assert len(set(got)) == 80_000
    assert logger.stats().sent == 80_000
    assert logger.stats().dropped == 0


def test_full_buffer_drops_the_oldest_and_counts_them(
    rx: LocalReceiver, make_logger: MakeLogger
) -> None:
    """Without a DLQ to spill to, a busy worker's buffer of 10 keeps the newest 10, counts drops."""
    rx.respond_with(202, delay=0.5)  # the first request keeps the worker busy
    logger = make_logger(max_buffer=10, batch_size=10, flush_interval=60, dlq_path=None)
    logger.info("first")
    rx.wait_for_requests(1, WAIT)
    for i in range(100):
        logger.info(f"n{i}")
    assert logger.flush(WAIT)
    stats = logger.stats()
    assert stats.dropped == 90
    assert stats.lost_by_reason == {"buffer_full": 90}
    assert stats.enqueued == 101
    assert stats.sent == 11
    assert messages(rx.entries) == ["first"] + [f"n{i}" for i in range(90, 100)]


# -- lifecycle ---------------------------------------------------------------------------


def test_close_is_bounded_against_a_server_that_never_answers(
    rx: LocalReceiver, make_logger: MakeLogger, dlq_dir: Path
) -> None:
    """close(timeout=1) returns although the server hangs; the entries go to the DLQ."""
    rx.hang()
    logger = make_logger(timeout=60)
    for i in range(5):
        logger.info(f"stuck {i}")
    rx.wait_for_requests(1, WAIT)
    closer = threading.Thread(target=logger.close, kwargs={"timeout": 1.0})
    closer.start()
    closer.join(WAIT)
    assert not closer.is_alive()
    lines = [
        json.loads(line) for f in dlq_dir.glob("*.jsonl") for line in f.read_text().splitlines()
    ]
    assert sorted(e["message"] for e in lines) == [f"stuck {i}" for i in range(5)]
    assert logger.stats().dead_lettered == 5


def test_logging_after_close_is_a_noop_and_close_is_idempotent(
    rx: LocalReceiver, make_logger: MakeLogger
) -> None:
    """After close(), calls do nothing and raise nothing; close() twice is fine."""
    logger = make_logger()
    logger.info("before")
    logger.close()
    logger.close()
    logger.info("after")
    logger.error("after", exc_info=True)
    assert logger.flush() is True
    assert logger.closed
    assert messages(rx.entries) == ["before"]
    assert logger.stats().enqueued == 1


def test_flush_returns_once_everything_earlier_was_delivered(
    rx: LocalReceiver, make_logger: MakeLogger
) -> None:
    """flush() returns True with all earlier entries at the server."""
    logger = make_logger(flush_interval=60, batch_size=1000)
    for i in range(250):
        logger.info(str(i))
    assert logger.flush(WAIT)
    assert len(rx.entries) == 250
    stats = logger.stats()
    assert (stats.enqueued, stats.sent, stats.buffered) == (250, 250, 0)


def test_first_logger_becomes_default_until_closed(make_logger: MakeLogger) -> None:
    """The first logger is the default; set_default_logger overrides; close unsets."""
    set_default_logger(None)
    first = make_logger()
    second = make_logger()
    assert get_default_logger() is first
    set_default_logger(second)
    assert get_default_logger() is second
    second.close()
    assert get_default_logger() is None


def test_exit_hook_delivers_what_was_logged(rx: LocalReceiver, tmp_path: Path) -> None:
    """A process that logs and exits without close() still delivers (atexit)."""
    script = textwrap.dedent(
        f"""
        from tracehub import TraceHubLogger
        logger = TraceHubLogger(api_key="k", service="s", environment="e",
                                endpoint={rx.url!r}, flush_interval=60, dlq_path=None)
        for i in range(3):
            logger.info(f"bye {{i}}")
        """
    )
    subprocess.run([sys.executable, "-c", script], check=True, timeout=60)
    assert messages(rx.wait_for(3, WAIT)) == ["bye 0", "bye 1", "bye 2"]
