"""HttpTransport against a real local server: retries, Retry-After, 413 split, refusals."""

from __future__ import annotations

import threading
import time

import orjson
import pytest
from sdk_helpers import WAIT

from tracehub.testing import LocalReceiver
from tracehub.transport import HttpTransport


def _batch(n: int, prefix: str = "e") -> list[bytes]:
    return [orjson.dumps({"message": f"{prefix}{i}"}) for i in range(n)]


def _transport(url: str, **options: object) -> HttpTransport:
    defaults: dict = {"timeout": 5.0, "max_retries": 3, "retry_backoff": 0.01, "max_backoff": 0.05}
    defaults.update(options)
    return HttpTransport(url + "/api/v1/ingest", "key", **defaults)


def test_5xx_is_retried_until_accepted(rx: LocalReceiver) -> None:
    """500, 502 then 202: delivered with two retries."""
    rx.respond_with(500)
    rx.respond_with(502)
    result = _transport(rx.url).send(_batch(3))
    assert (result.delivered, result.retries, result.ok) == (3, 2, True)
    assert [r.status for r in rx.requests] == [500, 502, 202]


def test_429_returns_at_once_with_the_retry_after_pause(rx: LocalReceiver) -> None:
    """429 is not retried inside send: the batch comes back undelivered, throttled 1 s."""
    rx.respond_with(429, headers={"Retry-After": "1"})
    result = _transport(rx.url).send(_batch(2))
    assert (result.delivered, len(result.undelivered), result.throttled) == (0, 2, 1.0)
    assert len(rx.requests) == 1


@pytest.mark.parametrize(
    "value", ["Wed, 21 Oct 2015 07:28:00 GMT", "soon-ish", "\u00b2", "nan", "-5"]
)
def test_503_with_a_past_or_unparsable_retry_after_throttles_for_zero(
    rx: LocalReceiver, value: str
) -> None:
    """A Retry-After in the past or unparsable gives a pause of 0 (the worker's own)."""
    rx.respond_with(503, headers={"Retry-After": value.encode("utf-8").decode("latin-1")})
    result = _transport(rx.url).send(_batch(1))
    assert (result.throttled, len(result.undelivered)) == (0.0, 1)


def test_retry_after_is_capped(rx: LocalReceiver) -> None:
    """A Retry-After beyond max_retry_after is cut to it."""
    rx.respond_with(429, headers={"Retry-After": "86400"})
    assert _transport(rx.url, max_retry_after=7).send(_batch(1)).throttled == 7.0


def test_entries_refused_in_a_202_body_are_counted_not_delivered(rx: LocalReceiver) -> None:
    """202 {"accepted": 1, "rejected": [...]}: one delivered, two refused, the reason kept."""
    body = b'{"accepted": 1, "rejected": [{"index": 0, "error": "thread_id bad"}, {"index": 2}]}'
    rx.respond_with(202, body=body)
    result = _transport(rx.url).send(_batch(3))
    assert (result.delivered, result.refused, result.ok) == (1, 2, False)
    assert result.refused_detail == "thread_id bad"
    assert result.undelivered == []
    assert result.rejected == []


def test_an_all_rejected_422_is_refused_like_a_202(rx: LocalReceiver) -> None:
    """422 with the per-entry body: every entry refused, nothing retried or dead-lettered."""
    rx.respond_with(422, body=b'{"accepted": 0, "rejected": [{"index": 0, "error": "no"}]}')
    result = _transport(rx.url).send(_batch(1))
    assert (result.delivered, result.refused, result.retries, result.rejected) == (0, 1, 0, [])
    assert len(rx.requests) == 1


def test_a_422_without_a_per_entry_body_rejects_the_batch(rx: LocalReceiver) -> None:
    """422 {"error": ...}: the whole batch is rejected, as any other 4xx."""
    rx.respond_with(422, body=b'{"error": "schema"}')
    result = _transport(rx.url).send(_batch(2))
    assert (len(result.rejected), result.rejected_status, result.refused) == (2, 422, 0)


def test_reconnect_leaves_a_hung_request_and_sends_on_a_new_client(rx: LocalReceiver) -> None:
    """After reconnect(), a send does not queue behind the request still hanging."""
    transport = _transport(rx.url, timeout=30.0)
    rx.respond_with(202, delay=30.0)
    hung = threading.Thread(target=transport.send, args=(_batch(1, "hung"),), daemon=True)
    hung.start()
    rx.wait_for_requests(1, WAIT)
    transport.reconnect()
    assert transport.send(_batch(1, "fresh"), deadline=time.monotonic() + WAIT).delivered == 1


def test_the_http_client_exists_before_any_send(rx: LocalReceiver) -> None:
    """Construction builds the TLS context and client, so no SDK thread ever has to."""
    transport = _transport(rx.url)
    assert transport._client is not None
    transport.reset_after_fork()
    assert transport._client is None
    tls = transport._tls
    assert transport.send(_batch(1)).delivered == 1
    assert transport._tls is tls


def test_413_splits_the_batch_in_halves(rx: LocalReceiver) -> None:
    """A 413 makes the transport send each half; all entries arrive once."""
    rx.respond_with(413)
    result = _transport(rx.url).send(_batch(10))
    assert result.delivered == 10
    assert [len(r.entries) for r in rx.requests] == [10, 5, 5]
    assert len(rx.entries) == 10


def test_413_on_a_single_entry_rejects_it(rx: LocalReceiver) -> None:
    """A single entry that is still too large is rejected, not retried forever."""
    rx.respond_with(413, times=5)
    result = _transport(rx.url).send(_batch(1))
    assert (result.rejected_status, len(result.rejected)) == (413, 1)


def test_other_4xx_is_not_retried(rx: LocalReceiver) -> None:
    """400 rejects the batch after one request."""
    rx.respond_with(400)
    result = _transport(rx.url).send(_batch(2))
    assert (len(result.rejected), result.rejected_status, result.retries) == (2, 400, 0)
    assert len(rx.requests) == 1


def test_connection_refused_is_retried_then_undelivered(dead_url: str) -> None:
    """Connection errors are retried max_retries times, then returned undelivered."""
    result = _transport(dead_url, max_retries=2, reconnect_after=2).send(_batch(2))
    assert (result.retries, len(result.undelivered), result.delivered) == (2, 2, 0)


def test_timeout_bounds_each_request(rx: LocalReceiver) -> None:
    """A server slower than timeout yields an undelivered batch, not a hang."""
    rx.respond_with(202, delay=3.0)
    result = _transport(rx.url, timeout=0.2, max_retries=0).send(_batch(1))
    assert len(result.undelivered) == 1


def test_deadline_in_the_past_sends_nothing(rx: LocalReceiver) -> None:
    """No request starts after the deadline."""
    result = _transport(rx.url).send(_batch(1), deadline=time.monotonic() - 1)
    assert len(result.undelivered) == 1
    assert rx.requests == []


def test_huge_error_body_is_read_only_partly(rx: LocalReceiver) -> None:
    """A hostile server's 10 MB error body doesn't break the transport."""
    rx.respond_with(400, body=b"x" * 10_000_000)
    result = _transport(rx.url).send(_batch(1))
    assert result.rejected_status == 400


def test_concurrent_sends_all_arrive(rx: LocalReceiver) -> None:
    """Several threads sharing one transport each deliver their batch."""
    transport = _transport(rx.url)
    results = []

    def send(i: int) -> None:
        results.append(transport.send(_batch(5, prefix=f"t{i}-")).delivered)

    threads = [threading.Thread(target=send, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(WAIT)
    assert sorted(results) == [5, 5, 5, 5]
    assert len(rx.entries) == 20
    transport.close()


@pytest.mark.parametrize("compress", [True, False])
def test_body_is_a_json_array_with_the_right_encoding(rx: LocalReceiver, compress: bool) -> None:
    """The body decodes to the array of entries, gzipped only when asked."""
    _transport(rx.url, compress=compress).send(_batch(2))
    request = rx.requests[0]
    assert ("content-encoding" in request.headers) is compress
    assert [e["message"] for e in request.entries] == ["e0", "e1"]
