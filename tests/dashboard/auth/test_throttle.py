"""LoginThrottle: free attempts, exponential wait, reset on success, bounded memory."""

from __future__ import annotations

from tracehub_server.auth.throttle import LoginThrottle


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_waits_grow_after_the_free_attempts() -> None:
    """Five attempts pass; the sixth waits 1 s, then 2 s after the next failure."""
    clock = Clock()
    t = LoginThrottle(clock=clock)
    assert [t.attempt("a@x", "1.2.3.4") for _ in range(5)] == [0.0] * 5
    assert t.attempt("a@x", "1.2.3.4") == 1.0
    clock.now += 1.0
    assert t.attempt("a@x", "1.2.3.4") == 0.0
    assert t.attempt("a@x", "1.2.3.4") == 2.0


def test_keys_are_per_email_and_address_and_case_insensitive() -> None:
    """Another address or email is independent; email case does not matter."""
    t = LoginThrottle(clock=Clock(), free_attempts=1)
    assert t.attempt("A@X", "ip") == 0.0
    assert t.attempt("a@x", "ip") > 0
    assert t.attempt("a@x", "other-ip") == 0.0
    assert t.attempt("b@x", "ip") == 0.0


def test_success_and_quiet_window_reset() -> None:
    """succeeded() forgets the failures; so does a quiet window."""
    clock = Clock()
    t = LoginThrottle(clock=clock, free_attempts=1, window=60)
    t.attempt("a", "ip")
    t.succeeded("a", "ip")
    assert t.attempt("a", "ip") == 0.0
    clock.now += 61
    assert t.attempt("a", "ip") == 0.0


def test_delay_is_capped_and_memory_bounded() -> None:
    """The wait never exceeds max_delay, and at most max_keys keys are remembered."""
    clock = Clock()
    t = LoginThrottle(clock=clock, free_attempts=0, max_delay=30, max_keys=100)
    for _ in range(50):
        clock.now += 1000
        t.attempt("a", "ip")
    assert t.attempt("a", "ip") <= 30
    for i in range(1000):
        t.attempt(f"user{i}", "ip")
    assert len(t._records) == 100
