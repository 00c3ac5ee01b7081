"""What users may set on rules and channels, validated once for the JSON API and the page.

:func:`rule_fields` and :func:`channel_fields` turn raw input into storage values or raise
:class:`AlertConfigError` naming the field; the API answers 422 with it, the page shows it
on the form. Volume rules take the logs explorer's query string (``level=ERROR&service=
checkout&extra.tenant=acme``), parsed by the explorer's own parser.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from tracehub_server.alerts.channels import Sender
from tracehub_server.alerts.channels.base import Outcome
from tracehub_server.alerts.evaluate import levels_at_or_above
from tracehub_server.alerts.payload import Links, base
from tracehub_server.storage.alerts import CHANNEL_KINDS, RULE_KINDS, Channel, RuleFields
from tracehub_server.storage.log_filters import LEVELS, FilterError
from tracehub_server.web_params import parse_log_filter

#: Explorer parameters a volume rule may not set: the window is the rule's own.
_QUERY_EXCLUDED = frozenset({"since", "until", "limit", "cursor", "project", "tail"})
MAX_RECIPIENTS = 20
MAX_NAME_CHARS = 100
MAX_TARGET_CHARS = 2000
MAX_QUERY_CHARS = 2000
MAX_LIST_VALUES = 20
WINDOWED = ("frequency", "volume")


class AlertConfigError(ValueError):
    """A rule or channel field is invalid; ``field`` names it."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def _name(value: str) -> str:
    value = value.strip()
    if not 1 <= len(value) <= MAX_NAME_CHARS:
        raise AlertConfigError("name", f"must be 1 to {MAX_NAME_CHARS} characters")
    return value


def _values(field: str, values: list[str]) -> list[str]:
    out = list(dict.fromkeys(v.strip() for v in values if v and v.strip()))
    if len(out) > MAX_LIST_VALUES or any(len(v) > 256 for v in out):
        raise AlertConfigError(field, f"at most {MAX_LIST_VALUES} values of 256 characters")
    return out


def parse_query(text: str) -> list[list[str]]:
    """The explorer query string as ``[[key, value], ...]``, validated by the explorer's parser."""
    text = text.strip().lstrip("?")
    if len(text) > MAX_QUERY_CHARS:
        raise AlertConfigError("query", f"must be at most {MAX_QUERY_CHARS} characters")
    pairs = [
        (k, v) for k, v in parse_qsl(text, keep_blank_values=False) if k not in _QUERY_EXCLUDED
    ]
    try:
        parse_log_filter(pairs)
    except FilterError as exc:
        raise AlertConfigError("query", str(exc)) from None
    return [[k, v] for k, v in pairs]


def query_text(query: list[list[str]]) -> str:
    """The stored query back as a query string (what the form and the API show)."""
    return urlencode([(k, v) for k, v in query])


@dataclass(slots=True)
class RuleInput:
    """A rule as submitted (API body or form)."""

    name: str
    kind: str
    enabled: bool = True
    environments: list[str] | None = None
    services: list[str] | None = None
    levels: list[str] | None = None
    min_level: str | None = None
    threshold: int | None = None
    window_minutes: int | None = None
    query: str = ""
    channel_ids: list[int] | None = None
    interval_minutes: int = 60


def rule_fields(given: RuleInput, *, project_channels: set[int]) -> RuleFields:
    """Storage fields for ``given``; raises :class:`AlertConfigError` naming a bad field."""
    if given.kind not in RULE_KINDS:
        raise AlertConfigError("kind", f"must be one of {', '.join(RULE_KINDS)}")
    levels = [v.upper() for v in _values("levels", given.levels or [])]
    if given.min_level:
        if given.min_level.upper() not in LEVELS:
            raise AlertConfigError("min_level", f"must be one of {', '.join(LEVELS)}")
        levels = levels_at_or_above(given.min_level.upper())
    if any(level not in LEVELS for level in levels):
        raise AlertConfigError("levels", f"must be among {', '.join(LEVELS)}")
    threshold, window = given.threshold, given.window_minutes
    if given.kind in WINDOWED:
        if threshold is None or not 1 <= threshold <= 1_000_000:
            raise AlertConfigError("threshold", "must be from 1 to 1000000 for this kind")
        if window is None or not 1 <= window <= 1440:
            raise AlertConfigError("window_minutes", "must be from 1 to 1440 for this kind")
    else:
        threshold = window = None
    channels = list(dict.fromkeys(given.channel_ids or []))
    unknown = set(channels) - project_channels
    if unknown:
        raise AlertConfigError("channel_ids", f"not channels of this project: {sorted(unknown)}")
    if not 0 <= given.interval_minutes <= 10080:
        raise AlertConfigError("interval_minutes", "must be from 0 to 10080 (a week)")
    return RuleFields(
        name=_name(given.name),
        kind=given.kind,
        enabled=given.enabled,
        environments=_values("environments", given.environments or []),
        services=_values("services", given.services or []),
        levels=levels,
        threshold=threshold,
        window_minutes=window,
        query=parse_query(given.query) if given.kind == "volume" else [],
        channel_ids=channels,
        interval_minutes=given.interval_minutes,
    )


@dataclass(frozen=True, slots=True)
class ChannelFields:
    name: str
    kind: str
    target: str


def channel_fields(*, name: str, kind: str, target: str) -> ChannelFields:
    """Validated channel settings: an http(s) URL, or 1-20 email addresses."""
    if kind not in CHANNEL_KINDS:
        raise AlertConfigError("kind", f"must be one of {', '.join(CHANNEL_KINDS)}")
    target = target.strip()
    if not target or len(target) > MAX_TARGET_CHARS:
        raise AlertConfigError("target", f"must be 1 to {MAX_TARGET_CHARS} characters")
    if kind == "email":
        addresses = target.replace(",", " ").split()
        if not 1 <= len(addresses) <= MAX_RECIPIENTS or any(
            "@" not in a or a.startswith("@") or a.endswith("@") for a in addresses
        ):
            raise AlertConfigError(
                "target", f"must be 1 to {MAX_RECIPIENTS} email addresses, comma-separated"
            )
        target = ", ".join(addresses)
    else:
        url = urlsplit(target)
        if url.scheme not in ("http", "https") or not url.hostname:
            raise AlertConfigError("target", "must be an http:// or https:// URL")
    return ChannelFields(_name(name), kind, target)


def test_payload(channel: Channel, project_name: str, public_url: str | None) -> dict[str, Any]:
    """A harmless notification for the "Send test" button (kind ``test``)."""
    links = Links(public_url)
    doc = base(
        "test",
        project=(channel.project_id, project_name),
        rule=None,
        now=datetime.now(timezone.utc),
        title=f"Test notification from TraceHub ({project_name} / {channel.name})",
        url=links.alerts(channel.project_id),
    )
    doc["notification_id"] = "test"
    return doc


async def send_test(
    channel: Channel, senders: dict[str, Sender], *, project_name: str, public_url: str | None
) -> Outcome:
    """Send :func:`test_payload` now, bypassing the outbox: the answer is shown at once."""
    sender = senders.get(channel.kind)
    if sender is None:
        return Outcome(ok=False, answer=f"no sender for {channel.kind}")
    return await sender.send(channel, "test", test_payload(channel, project_name, public_url))
