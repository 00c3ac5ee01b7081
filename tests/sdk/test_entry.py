"""The entry's one definition: levels, aliases and fields, as everything else reads them."""

from __future__ import annotations

import pytest

from tracehub.entry import (
    ENTRY_KEYS,
    ERROR_LEVELS,
    FIELD,
    LEVEL_NAMES,
    LEVELS,
    WIRE_FIELDS,
    limit_of,
    normalize_level,
)
from tracehub.limits import MAX_STACK_TRACE_CHARS


def test_stored_keys_are_the_sent_fields_plus_the_servers_two() -> None:
    """ENTRY_KEYS holds every wire field and the server's received_at/original_timestamp."""
    sent = [field.name for field in WIRE_FIELDS]
    assert [key for key in ENTRY_KEYS if key in sent] == sent
    assert set(ENTRY_KEYS) - set(sent) == {"received_at", "original_timestamp"}
    assert [name for name in ENTRY_KEYS if FIELD[name].required] == ["level", "message"]


def test_every_alias_names_a_level() -> None:
    """Aliases map to the five levels; errors are the top two."""
    assert set(LEVEL_NAMES.values()) == set(LEVELS)
    assert ERROR_LEVELS == ("ERROR", "FATAL")


@pytest.mark.parametrize(
    ("given", "level"),
    [
        ("warning", "WARN"),
        (" critical ", "FATAL"),
        ("trace", "DEBUG"),
        (45, "ERROR"),
        ("?", "INFO"),
    ],
)
def test_normalize_level(given: object, level: str) -> None:
    """Names any case (aliases too) and stdlib numbers map to a level; unknown is INFO."""
    assert normalize_level(given) == level


def test_stack_trace_keeps_its_end_within_the_shared_limit() -> None:
    """The limits are tracehub.limits' numbers; a stack trace is cut from the front."""
    assert limit_of("stack_trace") == MAX_STACK_TRACE_CHARS
    assert FIELD["stack_trace"].keep_end
    with pytest.raises(ValueError, match="no limit"):
        limit_of("event_id")
