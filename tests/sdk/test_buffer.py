"""RingBuffer: bounded, FIFO, counted, and safe under concurrent writers."""

from __future__ import annotations

import threading

from sdk_helpers import WAIT

from tracehub.buffer import RingBuffer


def _record(i: int) -> tuple:
    return ("INFO", str(i), 0.0, "", None, None, 0, None)


def test_trim_drops_the_oldest_and_counts_them() -> None:
    """Over capacity, trim() drops from the front and counts each drop."""
    buf = RingBuffer(3)
    for i in range(5):
        buf.append(_record(i))
    assert buf.trim() == 2
    assert [r[1] for r in buf.take(10)] == ["2", "3", "4"]
    assert (buf.dropped, buf.taken, buf.enqueued) == (2, 3, 5)


def test_wait_until_needs_taken_batches_to_be_done() -> None:
    """A flush target is reached only after the taken batch is marked done."""
    buf = RingBuffer(10)
    buf.append(_record(1))
    target = buf.mark()
    buf.take(10)
    assert buf.wait_until(target, timeout=0.05) is False
    buf.done()
    assert buf.wait_until(target, timeout=0.05) is True


def test_concurrent_appends_and_takes_lose_nothing() -> None:
    """4 writers and a reader: every record is taken exactly once."""
    buf = RingBuffer(1_000_000)
    taken: list[tuple] = []
    stop = threading.Event()

    def reader() -> None:
        while not stop.is_set() or len(buf):
            taken.extend(buf.take(100))

    def writer(w: int) -> None:
        for i in range(5_000):
            buf.append(_record(w * 10_000 + i))

    consumer = threading.Thread(target=reader)
    consumer.start()
    writers = [threading.Thread(target=writer, args=(w,)) for w in range(4)]
    for thread in writers:
        thread.start()
    for thread in writers:
        thread.join(WAIT)
    stop.set()
    consumer.join(WAIT)
    assert len(taken) == 20_000
    assert len({r[1] for r in taken}) == 20_000
