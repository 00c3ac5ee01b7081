"""Message normalisation: variable parts become placeholders, the template survives."""

from __future__ import annotations

import pytest

from tracehub_server.grouping.normalise import MAX_NORMALISED_INPUT, normalise


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("user 5f0c4b1e-8a7d-4c1e-9b2a-1c2d3e4f5a6b missing", "user <uuid> missing"),
        ("at 2024-01-02T03:04:05.123+02:00 ok", "at <timestamp> ok"),
        ("at 2024-01-02 03:04:05Z ok", "at <timestamp> ok"),
        ("object at 0x7f3a9c1b2e50", "object at <hex>"),
        ("commit deadbeef12345678 bad", "commit <hex> bad"),
        ("port 5432 refused", "port <num> refused"),
        ("ratio -3.5e-3", "ratio <num>"),
        ("connect 10.0.0.7:5432 failed", "connect <ip> failed"),
        ("peer fe80::1ff:fe23:4567:890a gone", "peer <ip> gone"),
        ("peer [::1]:8080 gone", "peer [<ip>]:<num> gone"),
        ("mail to bob.smith+x@example.co.uk bounced", "mail to <email> bounced"),
        ("GET https://api.example.com/v1/users/42?x=1 -> 503", "GET <url> -> <num>"),
        ("KeyError: 'user_id'", "KeyError: <str>"),
        ('no column "created_at"', "no column <str>"),
        ("timeout after 667ms", "timeout after <duration>"),
        (
            "slow: 1.5s, then 30 seconds, then 2 min",
            "slow: <duration>, then <duration>, then <duration>",
        ),
        ("  spaced\n\tout  ", "spaced out"),
        ("std::vector<int>::at out of range", "std::vector<int>::at out of range"),
        ("", ""),
    ],
)
def test_placeholders(message: str, expected: str) -> None:
    """Each kind of variable value is replaced by its placeholder, prose is kept."""
    assert normalise(message) == expected


def test_same_template_different_values_normalise_equal() -> None:
    """One template with different ids, times, addresses and durations yields one string."""
    a = "Timeout after 667ms calling http://10.0.0.7/api for order 1234 (req 0x7f00aa)"
    b = "Timeout after 1.2s calling http://10.0.0.9/api for order 98 (req 0x55ee01)"
    assert normalise(a) == normalise(b)


def test_none_is_empty() -> None:
    """A missing message normalises to the empty string."""
    assert normalise(None) == ""


@pytest.mark.parametrize(
    "hostile",
    [
        "a" * 1_000_000,
        "1." * 500_000,
        "'" * 300_000,
        ":" * 300_000,
        "0x" + "f" * 500_000,
        "@" * 100_000 + "a.b" * 100_000,
        "\x00\ud800\U0010ffff" * 10_000,
    ],
)
def test_hostile_input_is_bounded(hostile: str) -> None:
    """Huge or pathological messages are cut to the cap and processed without error."""
    result = normalise(hostile)
    assert len(result) <= MAX_NORMALISED_INPUT * 12
