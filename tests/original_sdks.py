"""Request bodies and headers built exactly as the original TraceHub SDKs build them.

* Python, ``tracehub-logger`` 1.2.0: ``LogEntry.to_dict()`` order, empty optionals left out,
  ``json.dumps`` defaults (``", "`` separators, non-ASCII as ``\\u`` escapes, ``NaN`` for
  float specials), ``gzip.compress``; httpx headers; thread id = the thread's name.
* Java: Jackson in field-declaration order (the same order as the Python model) with nulls
  omitted but empty strings and an empty ``extra`` kept, compact, raw UTF-8; thread id =
  the thread's name; no ``User-Agent``.
* C++: keys sorted alphabetically (``nlohmann::json``), compact, raw UTF-8; thread id = the
  native id as a decimal string; no ``User-Agent``; ``Expect: 100-continue``.

None of them sends ``event_id``. Timestamps look like ``2026-04-06T00:30:00.000+00:00``.
The Java and C++ shapes follow the issue that reported them (their sources are not public).
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

#: The original Python model's field order (``LogEntry.to_dict``), shared by Jackson.
FIELD_ORDER = (
    "level", "message", "timestamp", "service", "environment", "host", "pid", "thread_id",
    "sdk_version", "trace_id", "module", "stack_trace", "error_type", "error_message", "extra",
)  # fmt: skip
#: Fields the Python SDK always writes; the others only when non-empty.
_ALWAYS = FIELD_ORDER[:9]

JAVA_TRACE = (
    "java.lang.IllegalStateException: Zahlung fehlgeschlagen — ungültiger Betrag\n"
    "\tat com.acme.billing.PaymentService.charge(PaymentService.java:42)\n"
    "\tat com.acme.billing.Main.main(Main.java:7)\n"
)
CPP_TRACE = "#0 0x55d4c in acme::pay(int) at pay.cpp:17\n#1 0x55e01 in main at main.cpp:9\n"
PY_TRACE = (
    "Traceback (most recent call last):\n"
    '  File "/srv/app/billing.py", line 12, in charge\n'
    "    raise ValueError(msg)\n"
    "ValueError: montant refusé ✗\n"
)


def original_timestamp(now: datetime | None = None, *, minutes_ago: int = 1) -> str:
    """A timestamp as all three SDKs write it: milliseconds, ``+00:00``."""
    moment = (now or datetime.now(timezone.utc)) - timedelta(minutes=minutes_ago)
    return moment.isoformat(timespec="milliseconds")


def _fields(level: str, message: str, timestamp: str, **more: Any) -> dict[str, Any]:
    return {"level": level, "message": message, "timestamp": timestamp, **more}


def python_entries(timestamp: str) -> list[dict[str, Any]]:
    """What ``tracehub-logger`` 1.2.0's ``to_dict`` gives for a typical session."""
    base = {
        "service": "billing-py",
        "environment": "production",
        "host": "web-1",
        "pid": 4242,
        "thread_id": "MainThread",
        "sdk_version": "1.2.0",
    }
    raw = [
        _fields("INFO", "Benutzer angemeldet — Grüße", timestamp, **base, module="auth",
                extra={"user": "usr_42", "ratio": float("nan"), "tags": ["ä", "😀"]}),
        _fields("DEBUG", "cache miss", timestamp, **base, trace_id="req-7f3a"),
        _fields("WARN", "disk at 81%", timestamp,
                **{**base, "thread_id": "ThreadPoolExecutor-0_0"}),
        _fields("ERROR", "Payment failed", timestamp, **base, module="billing",
                stack_trace=PY_TRACE, error_type="ValueError", error_message="montant refusé ✗"),
        _fields("FATAL", "worker crashed", timestamp, **base, stack_trace=PY_TRACE,
                error_type="ValueError", error_message="montant refusé ✗"),
    ]  # fmt: skip
    return [_python_order(entry) for entry in raw]


def _python_order(entry: dict[str, Any]) -> dict[str, Any]:
    return {
        key: entry[key]
        for key in FIELD_ORDER
        if key in _ALWAYS or entry.get(key) not in (None, "", {})
    }


def python_body(entries: list[dict[str, Any]]) -> bytes:
    """``json.dumps`` of the entries, as 1.2.0's serializer writes it (before gzip)."""
    return json.dumps(entries).encode("utf-8")


def java_entries(timestamp: str) -> list[dict[str, Any]]:
    """Jackson's output for the Java SDK's model: declaration order, nulls left out."""
    base = {
        "service": "billing-java",
        "environment": "production",
        "host": "jvm-1",
        "pid": 31337,
        "thread_id": "main",
        "sdk_version": "1.0.3",
        "trace_id": "",
        "module": "",
    }
    raw = [
        _fields("INFO", "Bestellung 42 angelegt: 3 Artikel, 49,99 €", timestamp, **base,
                extra={}),
        _fields("DEBUG", "Verbindungspool: 8/10 frei", timestamp, **base, extra={"pool": 8}),
        _fields("WARN", "Antwortzeit über 2 s", timestamp,
                **{**base, "thread_id": "http-nio-8080-exec-3"}, extra={}),
        _fields("ERROR", "Zahlung fehlgeschlagen", timestamp, **base,
                stack_trace=JAVA_TRACE, error_type="IllegalStateException",
                error_message="Zahlung fehlgeschlagen — ungültiger Betrag", extra={}),
        _fields("FATAL", "JVM wird beendet", timestamp, **base, stack_trace=JAVA_TRACE,
                error_type="IllegalStateException",
                error_message="Zahlung fehlgeschlagen — ungültiger Betrag", extra={}),
        _fields("INFO", "日本語のメッセージ", timestamp, **base, extra={"sprache": "ja"}),
    ]  # fmt: skip
    return [{key: entry[key] for key in FIELD_ORDER if key in entry} for entry in raw]


def java_body(entries: list[dict[str, Any]]) -> bytes:
    """Compact JSON, raw UTF-8, as Jackson writes it."""
    return json.dumps(entries, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def cpp_entries(timestamp: str) -> list[dict[str, Any]]:
    """The C++ SDK's entries; the body sorts their keys."""
    base = {
        "service": "pricing-cpp",
        "environment": "production",
        "host": "edge-3",
        "pid": 9001,
        "thread_id": "140245",
        "sdk_version": "0.9.1",
    }
    return [
        _fields("INFO", "Preis berechnet: 12,50 € — ok", timestamp, **base),
        _fields("WARN", "Wechselkurs veraltet ⚠", timestamp,
                **{**base, "thread_id": "140246"}, module="fx"),
        _fields("ERROR", "Division durch null", timestamp, **base, stack_trace=CPP_TRACE,
                error_type="std::domain_error", error_message="Division durch null"),
        _fields("FATAL", "terminate called", timestamp, **base, stack_trace=CPP_TRACE,
                error_type="std::domain_error", error_message="Division durch null"),
    ]  # fmt: skip


def cpp_body(entries: list[dict[str, Any]]) -> bytes:
    """Compact JSON with sorted keys, raw UTF-8, as ``nlohmann::json::dump()`` writes it."""
    return json.dumps(entries, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode(
        "utf-8"
    )


Entries = list[dict[str, Any]]
Sdk = tuple[Callable[[str], Entries], Callable[[Entries], bytes], bool, dict[str, str]]
#: Each SDK: its entries, how it writes a body, whether it gzips, and its extra headers.
SDKS: dict[str, Sdk] = {
    "python": (python_entries, python_body, True, {"User-Agent": "python-httpx/0.27.0"}),
    "java": (java_entries, java_body, True, {}),
    "cpp": (cpp_entries, cpp_body, False, {"Expect": "100-continue"}),
}  # fmt: skip


def request(
    sdk: str, api_key: str, timestamp: str, *, gzip_body: bool | None = None
) -> tuple[bytes, dict[str, str], Entries]:
    """``(body as sent, headers, entries)`` of one request of ``sdk``; ``gzip_body``
    overrides whether the SDK compresses."""
    make_entries, make_body, gzipped, extra_headers = SDKS[sdk]
    entries = make_entries(timestamp)
    body = make_body(entries)
    headers = {"X-API-Key": api_key, "Content-Type": "application/json", **extra_headers}
    if gzipped if gzip_body is None else gzip_body:
        body = gzip.compress(body)
        headers["Content-Encoding"] = "gzip"
    return body, headers, entries
