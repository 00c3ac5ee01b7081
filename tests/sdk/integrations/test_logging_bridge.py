"""The stdlib logging bridge against a real logger and receiver: mapping, safety, dictConfig."""

from __future__ import annotations

import logging
import logging.config
import threading
import weakref
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tracehub import TraceHubLogger
from tracehub._diagnostics import sdk_internal
from tracehub.integrations._trace import bind_trace_id, unbind_trace_id
from tracehub.integrations.logging import TraceHubHandler, tracehub_level
from tracehub.limits import MAX_MESSAGE_CHARS
from tracehub.testing import LocalReceiver

Delivered = Callable[[], list[dict[str, Any]]]
APP_LOGGER = "tests.bridge.app"


@pytest.fixture
def app_log(th_logger: TraceHubLogger) -> Iterator[logging.Logger]:
    """A stdlib logger (every level, not propagating) whose only handler is the bridge."""
    log = logging.getLogger(APP_LOGGER)
    handler = TraceHubHandler(th_logger)
    log.addHandler(handler)
    log.setLevel(1)
    log.propagate = False
    try:
        yield log
    finally:
        log.removeHandler(handler)
        log.propagate = True
        log.setLevel(logging.NOTSET)


def make_record(msg: str, *args: Any) -> logging.LogRecord:
    """A LogRecord as ``logging.getLogger(APP_LOGGER).info(msg, *args)`` would build it."""
    return logging.LogRecord(APP_LOGGER, logging.INFO, __file__, 1, msg, args, None)


def by_message(entries: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Index entries by message (the tests use distinct messages)."""
    return {e["message"]: e for e in entries}


def test_levels_are_mapped(app_log: logging.Logger, delivered: Delivered) -> None:
    """DEBUG/INFO pass through, WARNING->WARN, CRITICAL->FATAL, custom levels round down."""
    app_log.debug("d")
    app_log.info("i")
    app_log.warning("w")
    app_log.error("e")
    app_log.critical("c")
    app_log.log(25, "between info and warning")
    app_log.log(5, "below debug")
    app_log.log(99, "above critical")
    got = {m: e["level"] for m, e in by_message(delivered()).items()}
    assert got == {
        "d": "DEBUG",
        "i": "INFO",
        "w": "WARN",
        "e": "ERROR",
        "c": "FATAL",
        "between info and warning": "INFO",
        "below debug": "DEBUG",
        "above critical": "FATAL",
    }


def test_level_function_covers_the_whole_range() -> None:
    """Every level number maps to one of the five TraceHub levels."""
    assert {tracehub_level(n) for n in range(-5, 200)} == {
        "DEBUG",
        "INFO",
        "WARN",
        "ERROR",
        "FATAL",
    }


def test_arguments_are_formatted_and_module_is_the_logger_name(
    app_log: logging.Logger, delivered: Delivered
) -> None:
    """%-style arguments are applied (tuple and mapping forms); module is the logger name."""
    app_log.info("user %s bought %d items", "bob", 3)
    app_log.info("%(who)s paid", {"who": "alice"})
    app_log.info("100% literal")
    got = by_message(delivered())
    assert set(got) == {"user bob bought 3 items", "alice paid", "100% literal"}
    assert {e["module"] for e in got.values()} == {APP_LOGGER}


def test_bad_format_arguments_still_ship_the_line(
    th_logger: TraceHubLogger, delivered: Delivered
) -> None:
    """A format/argument mismatch ships the raw message instead of raising or dropping it."""
    # Handed to the bridge directly: pytest's own capture handler would choke on it first.
    record = logging.LogRecord(
        APP_LOGGER, logging.INFO, __file__, 1, "needs two %s %s", ("only-one",), None
    )
    TraceHubHandler(th_logger).handle(record)
    [entry] = delivered()
    assert entry["message"].startswith("needs two %s %s")
    assert "only-one" in entry["message"]


def test_exceptions_become_error_fields(app_log: logging.Logger, delivered: Delivered) -> None:
    """log.exception fills error_type/message/stack_trace; stack_info becomes a stack trace."""
    try:
        {}["missing-key"]
    except KeyError:
        app_log.exception("lookup failed")
    app_log.error("no active exception", exc_info=True)
    app_log.info("where am I", stack_info=True)
    got = by_message(delivered())
    failed = got["lookup failed"]
    assert failed["level"] == "ERROR"
    assert failed["error_type"] == "KeyError"
    assert "missing-key" in failed["error_message"]
    assert '{}["missing-key"]' in failed["stack_trace"]
    assert "error_type" not in got["no active exception"] or not got["no active exception"].get(
        "error_type"
    )
    assert "test_exceptions_become_error_fields" in got["where am I"]["stack_trace"]


def test_custom_record_attributes_become_extra(
    app_log: logging.Logger, delivered: Delivered
) -> None:
    """extra= attributes (including unserialisable ones) arrive in extra; standard ones don't."""

    class Opaque:
        def __repr__(self) -> str:
            return "<Opaque>"

    app_log.info("with extra", extra={"user_id": 42, "tags": ["a", "b"], "thing": Opaque()})
    app_log.info("without extra")
    got = by_message(delivered())
    extra = got["with extra"]["extra"]
    assert extra["user_id"] == 42
    assert extra["tags"] == ["a", "b"]
    assert "Opaque" in str(extra["thing"])
    assert not {"msg", "args", "levelno", "pathname", "lineno", "exc_info"} & set(extra)
    assert not got["without extra"].get("extra")


def test_trace_id_of_the_calling_context_is_attached(
    app_log: logging.Logger, delivered: Delivered
) -> None:
    """A stdlib call made inside a request carries that request's trace id."""
    token = bind_trace_id("bridge-trace")
    try:
        app_log.info("inside")
    finally:
        unbind_trace_id(token)
    app_log.info("outside")
    got = by_message(delivered())
    assert got["inside"]["trace_id"] == "bridge-trace"
    assert not got["outside"].get("trace_id")


def test_oversized_and_hostile_messages_are_handled(
    th_logger: TraceHubLogger, app_log: logging.Logger, delivered: Delivered
) -> None:
    """A 1 MB message is truncated by the SDK; an argument whose __str__ raises is survived."""

    class Hostile:
        def __str__(self) -> str:
            raise RuntimeError("no string for you")

    app_log.info("big %s", "x" * 1_000_000)
    hostile = logging.LogRecord(
        APP_LOGGER, logging.INFO, __file__, 1, "hostile %s", (Hostile(),), None
    )
    TraceHubHandler(th_logger).handle(hostile)
    entries = delivered()
    big = next(e for e in entries if e["message"].startswith("big "))
    assert len(big["message"]) <= MAX_MESSAGE_CHARS
    assert any(e["message"].startswith("hostile %s") for e in entries)


def test_sdk_and_http_client_records_are_never_shipped(
    th_logger: TraceHubLogger, delivered: Delivered
) -> None:
    """Records from tracehub/httpx/httpcore loggers and from SDK-internal code are dropped."""
    handler = TraceHubHandler(th_logger)
    names = ["tracehub", "tracehub.batcher", "httpx", "httpcore.connection", "h11", "hpack.x"]
    for name in names:
        handler.handle(logging.LogRecord(name, logging.ERROR, __file__, 1, "loop?", None, None))
    with sdk_internal():
        handler.handle(logging.LogRecord("app", logging.ERROR, __file__, 1, "internal", None, None))
    handler.handle(logging.LogRecord("tracehubby", logging.INFO, __file__, 1, "kept", None, None))
    assert [e["message"] for e in delivered()] == ["kept"]


def test_root_handler_with_debug_http_logging_does_not_loop(
    th_logger: TraceHubLogger, receiver: LocalReceiver, delivered: Delivered
) -> None:
    """With the bridge on the root logger at DEBUG, the SDK's own HTTP traffic isn't shipped."""
    root = logging.getLogger()
    handler = TraceHubHandler(th_logger)
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        for i in range(5):
            logging.getLogger("tests.bridge.loop").info("real %d", i)
            th_logger.flush(timeout=10)
        entries = delivered()
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
    assert sorted(e["message"] for e in entries) == [f"real {i}" for i in range(5)]
    assert len(receiver.requests) >= 5


def test_logging_from_inside_emit_does_not_recurse(
    th_logger: TraceHubLogger, app_log: logging.Logger, delivered: Delivered
) -> None:
    """A value that logs while the bridge formats it: the nested line is dropped, not looped."""

    class Chatty:
        def __str__(self) -> str:
            app_log.warning("nested from __str__")
            return "chatty"

    # Handed to a second bridge directly, so no other handler formats it (and logs) first.
    TraceHubHandler(th_logger).handle(make_record("outer %s", Chatty()))
    assert [e["message"] for e in delivered()] == ["outer chatty"]


def test_concurrent_logging_from_many_threads_arrives_intact(
    app_log: logging.Logger, delivered: Delivered
) -> None:
    """8 threads x 100 calls all arrive, each with its own formatted message and extra."""

    def work(t: int) -> None:
        for i in range(100):
            app_log.info("t%d-%d", t, i, extra={"t": t, "i": i})

    threads = [threading.Thread(target=work, args=(t,)) for t in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    got = by_message(delivered())
    assert len(got) == 800
    assert all(got[f"t{t}-{i}"]["extra"] == {"t": t, "i": i} for t in range(8) for i in range(100))


def test_dict_config_builds_the_handler_and_reconfiguring_keeps_the_logger_alive(
    default_logger: TraceHubLogger, delivered: Delivered
) -> None:
    """dictConfig can create the handler; replacing the config closes it but not TraceHub."""
    config: dict[str, Any] = {
        "version": 1,
        "disable_existing_loggers": False,
        "handlers": {
            "tracehub": {
                "()": "tracehub.integrations.logging.TraceHubHandler",
                "level": "INFO",
                "flush_timeout": 1.0,
            }
        },
        "loggers": {"tests.bridge.dict": {"handlers": ["tracehub"], "level": "DEBUG"}},
    }
    try:
        logging.config.dictConfig(config)
        log = logging.getLogger("tests.bridge.dict")
        log.debug("filtered by the handler level")
        log.info("configured by dictConfig")
        logging.config.dictConfig(config)  # closes and replaces the first handler
        log.warning("after reconfiguration")
    finally:
        logging.config.dictConfig({"version": 1, "disable_existing_loggers": False})
        logging.getLogger("tests.bridge.dict").handlers.clear()
    assert not default_logger.closed
    assert [e["message"] for e in delivered()] == [
        "configured by dictConfig",
        "after reconfiguration",
    ]


def test_flush_under_the_logging_lock_is_bounded_when_the_server_hangs(
    th_logger: TraceHubLogger, receiver: LocalReceiver
) -> None:
    """dictConfig flushing the bridge while the server never answers returns (no deadlock)."""
    log = logging.getLogger("tests.bridge.hang")
    log.addHandler(TraceHubHandler(th_logger, flush_timeout=0.3))
    log.setLevel(logging.INFO)
    receiver.hang()
    log.info("stuck in flight")
    done = threading.Event()

    def reconfigure() -> None:
        # dictConfig holds logging's module lock while it flushes and closes old handlers.
        logging.config.dictConfig({"version": 1, "disable_existing_loggers": False})
        done.set()

    thread = threading.Thread(target=reconfigure, daemon=True)
    thread.start()
    assert done.wait(timeout=60), "dictConfig never returned: flush waited unboundedly"
    log.handlers.clear()
    th_logger.close(timeout=0.1)  # give up on the hanging request now, not at teardown


def test_shutdown_flush_is_bounded_and_leaves_the_logger_open(
    th_logger: TraceHubLogger, receiver: LocalReceiver
) -> None:
    """logging.shutdown() with a hanging server returns, and TraceHub is not closed by it."""
    handler = TraceHubHandler(th_logger, flush_timeout=0.3)
    receiver.hang()
    handler.handle(make_record("in flight at shutdown"))
    done = threading.Event()

    def shutdown() -> None:
        logging.shutdown(handlerList=[weakref.ref(handler)])
        done.set()

    threading.Thread(target=shutdown, daemon=True).start()
    assert done.wait(timeout=60), "logging.shutdown never returned"
    assert not th_logger.closed
    th_logger.close(timeout=0.1)


def test_worker_delivers_while_logging_module_lock_is_held(
    th_logger: TraceHubLogger, receiver: LocalReceiver, app_log: logging.Logger
) -> None:
    """Once warm, the worker never needs logging's module lock: a flush under it completes.

    (The very first send lazily imports httpcore, whose getLogger() does take the lock;
    that cold path is the SDK core's to remove. The bridge's own flush is bounded anyway,
    see the test above.)
    """
    app_log.info("warm-up send")
    assert th_logger.flush(timeout=30) is True
    app_log.info("sent while the lock is held")
    with logging_module_lock():
        assert th_logger.flush(timeout=30) is True
    assert [e["message"] for e in receiver.entries][-1] == "sent while the lock is held"


class logging_module_lock:
    """Hold the stdlib logging module lock, as shutdown() and dictConfig do."""

    def __enter__(self) -> None:
        logging._acquireLock()  # type: ignore[attr-defined]

    def __exit__(self, *exc: object) -> None:
        logging._releaseLock()  # type: ignore[attr-defined]


def test_fingerprint_through_extra_steers_grouping(
    app_log: logging.Logger, delivered: Delivered
) -> None:
    """``extra={"fingerprint": [...]}`` becomes the wire fingerprint, not an extra key."""
    app_log.error("gateway timeout", extra={"fingerprint": ["payment-gateway"], "order": 7})
    entry = by_message(delivered())["gateway timeout"]
    assert entry["fingerprint"] == ["payment-gateway"]
    assert entry["extra"] == {"order": 7}
