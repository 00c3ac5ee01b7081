"""PII scrubbing: every default key at several depths, every text pattern, the project's
own rules, safe keys, and the scrubbing of real ingest before anything is queued."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from tracehub_server.api.scrubbing import DEFAULT_KEYS, FILTERED, Scrubber, scrub_text
from tracehub_server.queue.messages import ENTRY_KEYS
from tracehub_server.storage.scrubbing import ScrubSettings

DEFAULTS = Scrubber(ScrubSettings())
CARD = "4111 1111 1111 1111"  # Luhn-valid (a test number)
NOT_A_CARD = "4111 1111 1111 1112"  # one digit off: fails Luhn
PEM = "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA\nabc\n-----END RSA PRIVATE KEY-----"


def _entry(**fields: Any) -> dict[str, Any]:
    entry: dict[str, Any] = dict.fromkeys(ENTRY_KEYS)
    entry.update({"message": "m", **fields})
    return entry


def _scrubbed(scrubber: Scrubber, **fields: Any) -> dict[str, Any]:
    entry = _entry(**fields)
    scrubber.scrub([entry])
    return entry


@pytest.mark.parametrize("key", DEFAULT_KEYS)
@pytest.mark.parametrize("depth", [0, 1, 3])
def test_every_default_key_is_scrubbed_at_any_depth(key: str, depth: int) -> None:
    """A default key's value becomes [Filtered] at the top and nested in objects and lists."""
    extra: dict[str, Any] = {key: "s3cr3t-value", "harmless": "kept"}
    for _ in range(depth):
        extra = {"outer": [extra]} if depth % 2 else {"outer": extra}
    out = _scrubbed(DEFAULTS, extra=extra)["extra"]
    for _ in range(depth):
        out = out["outer"][0] if depth % 2 else out["outer"]
    assert out == {key: FILTERED, "harmless": "kept"}


@pytest.mark.parametrize(
    ("name", "scrubbed"),
    [
        ("X-Api-Key", True), ("db_password", True), ("userPassword", True), ("APIKEY", True),
        ("Set-Cookie", True), ("session_id", True), ("auth_header", True), ("author", False),
        ("tokenizer", False), ("user_id", False), ("passage", False),
    ],
)  # fmt: skip
def test_key_names_match_by_words(name: str, scrubbed: bool) -> None:
    """A key matches when a term's words appear in its name, not on any substring."""
    out = _scrubbed(DEFAULTS, extra={name: "v"})["extra"][name]
    assert (out == FILTERED) is scrubbed


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"card {CARD} declined", f"card {FILTERED} declined"),
        ("card 4111-1111-1111-1111", f"card {FILTERED}"),
        ("card 4111111111111111", f"card {FILTERED}"),
        (f"card {NOT_A_CARD}", f"card {NOT_A_CARD}"),
        ("order 1234567890123", "order 1234567890123"),
        # a Luhn-valid run inside a hex id is part of the id, not a card
        ("probe 93d10604686949238e7914b5", "probe 93d10604686949238e7914b5"),
        ("Authorization: Bearer eyJhbGciOi.J9.abc-_x==", f"Authorization: Bearer {FILTERED}"),
        ("bearer abc123", f"bearer {FILTERED}"),
        (f"key:\n{PEM}\nend", f"key:\n{FILTERED}\nend"),
        ("nothing to see", "nothing to see"),
    ],
)
def test_text_patterns(text: str, expected: str) -> None:
    """Luhn-valid cards, Bearer tokens and PEM private keys are replaced; the rest is kept."""
    assert scrub_text(text) == expected


def test_every_text_field_is_scrubbed() -> None:
    """Message, error message, stack trace, extra strings and the structured exception."""
    exception = {
        "values": [
            {
                "type": "E",
                "value": f"paid with {CARD}",
                "stacktrace": {
                    "frames": [
                        {
                            "function": "f",
                            "context_line": f"pay('{CARD}')",
                            "pre_context": ["token = 'Bearer abc'"],
                            "post_context": [],
                            "vars": {"password": "'x'", "amount": "5"},
                        }
                    ]
                },
            }
        ]
    }
    out = _scrubbed(
        DEFAULTS,
        message=f"charging {CARD}",
        error_message=f"declined {CARD}",
        stack_trace=f"Traceback\n  pay('{CARD}')",
        extra={"note": f"card {CARD}"},
        exception=exception,
    )
    assert CARD not in repr(out)
    assert "Bearer abc" not in repr(out)
    frame = out["exception"]["values"][0]["stacktrace"]["frames"][0]
    assert frame["vars"] == {"password": FILTERED, "amount": "5"}
    assert exception["values"][0]["value"] == f"paid with {CARD}"  # the input is not shared


def test_value_arrays_are_scrubbed_like_dicts() -> None:
    """Entries of the canonical path (value lists) are scrubbed the same way."""
    entry = _entry(message=f"card {CARD}", extra={"token": "t"})
    as_list = [copy.deepcopy(entry)[key] for key in ENTRY_KEYS]
    DEFAULTS.scrub([entry])
    DEFAULTS.scrub([as_list])
    assert [entry[key] for key in ENTRY_KEYS] == as_list


def test_project_rules_safe_keys_and_defaults_off() -> None:
    """Extra keys add to the defaults; safe keys are never scrubbed (nor what they hold);
    with the defaults off only the project's keys are."""
    custom = Scrubber(ScrubSettings(extra_keys=("iban",), safe_keys=("session",)))
    out = _scrubbed(
        custom,
        extra={"iban": "DE89", "session": {"token": "t", "note": CARD}, "password": "p"},
    )["extra"]
    assert out == {"iban": FILTERED, "session": {"token": "t", "note": CARD}, "password": FILTERED}
    off = Scrubber(ScrubSettings(defaults_enabled=False, extra_keys=("iban",)))
    out = _scrubbed(off, message=f"card {CARD}", extra={"iban": "DE89", "password": "p"})
    assert out["extra"] == {"iban": FILTERED, "password": "p"}
    assert out["message"] == f"card {CARD}"


async def test_ingest_scrubs_before_queueing_with_the_projects_rules(
    client: Any, api_key: str, drain: Any, pool: Any, project: Any
) -> None:
    """What reaches the queue is already scrubbed, on the fast and the general path, and a
    rule change (recorded with who made it) applies to the next request."""
    from ingest_helpers import entry

    from tracehub_server.storage.scrubbing import list_scrub_changes, save_scrub_settings
    from tracehub_server.storage.users import create_user

    fast = entry(message=f"card {CARD}", extra={"password": "p", "iban": "DE89"})
    general = entry(level="error", message="m", extra={"Authorization": "Bearer x"})
    response = await client.post(
        "/api/v1/ingest", json=[fast, general], headers={"X-API-Key": api_key}
    )
    assert response.status_code == 202
    [batch] = await drain()
    first, second = batch.entries
    assert first["message"] == f"card {FILTERED}"
    assert first["extra"] == {"password": FILTERED, "iban": "DE89"}
    assert second["extra"] == {"Authorization": FILTERED}
    async with pool.acquire() as conn:
        user = await create_user(conn, "scrub-admin@example.com", "x", is_admin=True)
        rules = ScrubSettings(extra_keys=("iban",), safe_keys=("password",))
        await save_scrub_settings(conn, project.id, rules, user_id=user.id)
        [change] = await list_scrub_changes(conn, project.id)
    assert change.changed_by_email == "scrub-admin@example.com"
    assert change.after["extra_keys"] == ["iban"]
    response = await client.post("/api/v1/ingest", json=[fast], headers={"X-API-Key": api_key})
    assert response.status_code == 202
    [batch] = await drain()
    assert batch.entries[0]["extra"] == {"password": "p", "iban": FILTERED}


def test_entries_missing_keys_are_scrubbed() -> None:
    """A producer's dict without the optional keys is scrubbed, not refused."""
    entry = {"message": f"card {CARD}", "extra": {"token": "t"}}
    DEFAULTS.scrub([entry])
    assert entry == {"message": f"card {FILTERED}", "extra": {"token": FILTERED}}
