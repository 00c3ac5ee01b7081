"""The logs explorer's query-string handling, shared by the page, "load more" and live tail.

The page accepts exactly the JSON API's filters (``storage.log_filters``), so a URL can be
copied between them; the form adds one convenience, an ``extra`` text field holding
``key=value`` pairs separated by spaces, expanded here into ``extra.key=value`` filters.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from tracehub_server.storage.log_filters import MAX_EXTRA_FILTERS, FilterError, LogFilter
from tracehub_server.web_params import parse_log_filter

#: The choices offered by the form's time-range select.
SINCE_CHOICES = (("15m", "Last 15 minutes"), ("1h", "Last hour"), ("24h", "Last 24 hours"),
                 ("7d", "Last 7 days"), ("30d", "Last 30 days"))  # fmt: skip
#: Parameters the page owns; they are not filters.
PAGE_PARAMS = frozenset({"project", "tail", "done"})
MAX_EXTRA_FIELD_CHARS = 2000


@dataclass(frozen=True, slots=True)
class ExplorerQuery:
    """The filter (or the error naming the bad parameter) and the pairs to rebuild links."""

    pairs: list[tuple[str, str]]
    filter: LogFilter | None
    error: FilterError | None

    def value(self, name: str) -> str:
        return next((v for k, v in self.pairs if k == name), "")

    def values(self, name: str) -> list[str]:
        return [v for k, v in self.pairs if k == name]


def expand_extra_field(text: str) -> list[tuple[str, str]]:
    """``"user_id=usr_42 plan=pro"`` → ``[("extra.user_id", "usr_42"), ("extra.plan", "pro")]``.

    Raises FilterError('extra', ...) for a pair without ``=`` or too many pairs.
    """
    if len(text) > MAX_EXTRA_FIELD_CHARS:
        raise FilterError("extra", f"must be at most {MAX_EXTRA_FIELD_CHARS} characters")
    out = []
    for part in text.split():
        key, eq, value = part.partition("=")
        if not eq or not key:
            raise FilterError("extra", f"expects key=value pairs, got {part[:50]!r}")
        out.append(("extra." + key, value))
    if len(out) > MAX_EXTRA_FILTERS:
        raise FilterError("extra", f"at most {MAX_EXTRA_FILTERS} pairs")
    return out


def parse_explorer_query(
    items: Iterable[tuple[str, str]], *, retention_days: int, cursor_key: bytes | None = None
) -> ExplorerQuery:
    """Validate the page's query string; never raises for bad input (the page shows it).

    ``cursor_key`` checks a "load more" cursor; without it any cursor is refused.
    """
    pairs = [(k, v) for k, v in items if k not in PAGE_PARAMS][:200]
    params: list[tuple[str, str]] = []
    try:
        for key, value in pairs:
            if key == "extra":
                params.extend(expand_extra_field(value))
            else:
                params.append((key, value))
        flt = parse_log_filter(params, retention_days=retention_days, cursor_key=cursor_key)
    except FilterError as exc:
        return ExplorerQuery(pairs=pairs, filter=None, error=exc)
    return ExplorerQuery(pairs=pairs, filter=flt, error=None)
