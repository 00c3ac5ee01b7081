"""A realistic week of logs and errors for ``tracehub demo``: pure data, no I/O.

Four services of a small shop (``web`` → ``checkout`` → ``payments``, and a ``worker``)
log requests that share a trace id across services, with ``extra`` fields worth filtering
on (``user_id``, ``order_id``, ``route``, ``status``, ``duration_ms``, ``plan``,
``region``). Traffic follows the day, and six real exception types recur at their own
rates: a payment gateway timeout spikes for two hours two days ago, and a
``ZeroDivisionError`` that was fixed (resolved) three days ago comes back in the last
twelve hours, so the issue list shows a regression.
"""

from __future__ import annotations

import math
import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

DAYS = 7
#: Requests per hour at the busiest time of day (the quietest gets about a fifth of it).
PEAK_REQUESTS_PER_HOUR = 24
ROUTES = ("/", "/products", "/products/{id}", "/cart", "/checkout", "/account")
PLANS = ("free", "free", "free", "pro", "pro", "enterprise")
REGIONS = ("eu-west", "eu-west", "us-east", "ap-south")


@dataclass(frozen=True, slots=True)
class Failure:
    """A recurring error: where it happens, its exception, and a believable stack trace."""

    service: str
    module: str
    error_type: str
    error_message: str
    frames: tuple[tuple[str, int, str, str], ...]  # (file, line, function, source line)
    level: str = "ERROR"

    def stack_trace(self) -> str:
        lines = ["Traceback (most recent call last):"]
        for file, line, func, source in self.frames:
            lines += [f'  File "{file}", line {line}, in {func}', f"    {source}"]
        return "\n".join([*lines, f"{self.error_type}: {self.error_message}"])


GATEWAY_TIMEOUT = Failure(
    "payments", "shop.payments.gateway", "TimeoutError",
    "payment gateway did not answer within 5.0 s",
    (("shop/payments/service.py", 57, "charge", "result = gateway.charge(order.total, card)"),
     ("shop/payments/gateway.py", 112, "charge", "resp = self._session.post(url, timeout=5.0)"),
     ("httpx/_client.py", 1012, "post", "raise TimeoutError(msg)")),
)  # fmt: skip
MISSING_CUSTOMER = Failure(
    "checkout", "shop.checkout.cart", "KeyError", "'customer_id'",
    (("shop/checkout/views.py", 88, "place_order", "cart = load_cart(request.session)"),
     ("shop/checkout/cart.py", 41, "load_cart", 'customer = session["customer_id"]')),
)  # fmt: skip
BAD_QUANTITY = Failure(
    "web", "shop.web.forms", "ValueError", "invalid literal for int() with base 10: 'two'",
    (("shop/web/views.py", 130, "add_to_cart", "qty = parse_quantity(form)"),
     ("shop/web/forms.py", 22, "parse_quantity", 'return int(form["quantity"])')),
)  # fmt: skip
EMPTY_REPORT = Failure(
    "worker", "shop.worker.reports", "ZeroDivisionError", "division by zero",
    (("shop/worker/jobs.py", 64, "nightly_report", "stats = conversion_stats(day)"),
     ("shop/worker/reports.py", 19, "conversion_stats", "rate = orders / visits")),
)  # fmt: skip
DB_DOWN = Failure(
    "worker", "shop.worker.db", "ConnectionRefusedError", "[Errno 111] Connection refused",
    (("shop/worker/main.py", 30, "run", "db = connect(settings.database_url)"),
     ("shop/worker/db.py", 12, "connect", "return psycopg.connect(url)")),
    level="FATAL",
)  # fmt: skip
STOCK_NEGATIVE = Failure(
    "checkout", "shop.checkout.stock", "AssertionError", "stock for SKU-1042 would go below 0",
    (("shop/checkout/stock.py", 77, "reserve", "assert item.stock - qty >= 0, msg"),),
)  # fmt: skip


#: Each failure's chance per request (the gateway's also spikes for two hours).
RATES = ((GATEWAY_TIMEOUT, 0.006), (MISSING_CUSTOMER, 0.012), (BAD_QUANTITY, 0.008),
         (STOCK_NEGATIVE, 0.003))  # fmt: skip


@dataclass(frozen=True, slots=True)
class DemoWeek:
    """The entries of the week, split where the regression's fix was shipped."""

    before_fix: list[dict[str, Any]]
    after_fix: list[dict[str, Any]]
    fixed_at: datetime
    #: The error type whose issue is resolved at ``fixed_at`` and then comes back.
    regression: str = EMPTY_REPORT.error_type


def _busy(hour: int) -> float:
    """Share of peak traffic at an hour of the day (UTC): low at night, high mid-afternoon."""
    return 0.2 + 0.8 * max(0.0, math.sin(math.pi * (hour - 6) / 16)) if 6 <= hour <= 22 else 0.2


def _entry(at: datetime, service: str, module: str, level: str, message: str,
           trace_id: str | None, extra: dict[str, Any]) -> dict[str, Any]:  # fmt: skip
    return {
        "event_id": uuid.uuid4().hex,
        "timestamp": at.isoformat(), "level": level, "service": service,
        "environment": "production", "module": module, "message": message,
        "trace_id": trace_id, "host": f"{service}-01",
        "extra": extra,
    }  # fmt: skip


def _failure_entry(f: Failure, at: datetime, trace_id: str | None, extra: dict[str, Any]) -> dict:
    return {
        **_entry(at, f.service, f.module, f.level, f"{f.error_type}: {f.error_message}",
                 trace_id, extra),
        "error_type": f.error_type, "error_message": f.error_message,
        "stack_trace": f.stack_trace(),
    }  # fmt: skip


def _request(rng: random.Random, at: datetime, failures: list[Failure]) -> Iterator[dict]:
    """One shopper's request through the services, sharing one trace id."""
    trace = rng.getrandbits(128).to_bytes(16, "big").hex()
    route = rng.choice(ROUTES)
    base = {"user_id": f"usr_{rng.randint(1, 400)}", "plan": rng.choice(PLANS),
            "region": rng.choice(REGIONS), "route": route}  # fmt: skip
    took = int(rng.lognormvariate(3.3, 0.6))
    failed = next((f for f in failures if f.service in ("web", "checkout", "payments")), None)
    status = 500 if failed else rng.choice((200, 200, 200, 200, 200, 304, 404))
    extra = {**base, "status": status, "duration_ms": took}
    yield _entry(at, "web", "shop.web.views", "WARN" if status == 404 else "INFO",
                 f"GET {route} {status} in {took} ms", trace, extra)  # fmt: skip
    if route == "/checkout":
        order = {**base, "order_id": f"ord_{rng.randint(10_000, 99_999)}",
                 "items": rng.randint(1, 5)}  # fmt: skip
        t = at + timedelta(milliseconds=5)
        placed = f"order {order['order_id']} placed ({order['items']} items)"
        yield _entry(t, "checkout", "shop.checkout.views", "INFO", placed, trace, order)
        yield _entry(t + timedelta(milliseconds=3), "payments", "shop.payments.service",
                     "DEBUG", f"charging order {order['order_id']}", trace, order)  # fmt: skip
    for f in failures:
        yield _failure_entry(f, at + timedelta(milliseconds=9), trace if f.service != "worker"
                             else None, {**base, "status": 500})  # fmt: skip


def build_week(now: datetime, *, seed: int = 16) -> DemoWeek:
    """The week up to ``now``: about 2,500 requests and their errors (the same for a seed,
    but for the event ids)."""
    rng = random.Random(seed)
    start = (now - timedelta(days=DAYS)).replace(minute=0, second=0, microsecond=0)
    fixed_at = now - timedelta(days=3)
    spike = (now - timedelta(days=2)).replace(hour=14, minute=0, second=0, microsecond=0)
    entries: list[dict[str, Any]] = []
    hour = start
    while hour < now:
        for _ in range(int(PEAK_REQUESTS_PER_HOUR * _busy(hour.hour) * rng.uniform(0.8, 1.2))):
            at = hour + timedelta(seconds=rng.uniform(0, 3599))
            if at >= now:
                continue
            spiking = spike <= at < spike + timedelta(hours=2)
            failures = [f for f, rate in RATES if rng.random() < rate]
            if spiking and GATEWAY_TIMEOUT not in failures and rng.random() < 0.35:
                failures.append(GATEWAY_TIMEOUT)
            entries.extend(_request(rng, at, failures))
        if hour.hour == 2:  # the nightly report: broken before the fix and again lately
            broken = hour < fixed_at or now - hour < timedelta(hours=12)
            job = {"job": "nightly_report", "day": f"{hour - timedelta(days=1):%Y-%m-%d}"}
            entries.append(_entry(hour, "worker", "shop.worker.jobs", "INFO",
                                  "nightly_report started", None, job))  # fmt: skip
            if broken:
                entries.append(_failure_entry(EMPTY_REPORT, hour + timedelta(seconds=4), None, job))
        hour += timedelta(hours=1)
    # The regression needs an event after the fix; the nightly job may not have run since.
    entries.append(_failure_entry(EMPTY_REPORT, now - timedelta(minutes=20), None,
                                  {"job": "nightly_report", "day": "rerun"}))  # fmt: skip
    outage = now - timedelta(days=5, hours=3)
    entries.append(_failure_entry(DB_DOWN, outage, None, {"attempt": 3, "region": "eu-west"}))
    entries.sort(key=lambda e: e["timestamp"])
    cut = fixed_at.isoformat()
    return DemoWeek(
        before_fix=[e for e in entries if e["timestamp"] < cut],
        after_fix=[e for e in entries if e["timestamp"] >= cut],
        fixed_at=fixed_at,
    )
