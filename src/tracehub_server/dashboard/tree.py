"""``extra`` as a readable nested tree of HTML lists.

Keys and values are escaped here (they are attacker-controlled); the nesting depth and the
number of nodes are bounded so a hostile ``extra`` cannot make a page huge or the renderer
recurse deeply, whatever the ingest limits are.
"""

from __future__ import annotations

from typing import Any

import orjson
from markupsafe import Markup

MAX_DEPTH = 12
MAX_NODES = 2_000


class _Budget:
    __slots__ = ("left",)

    def __init__(self, nodes: int) -> None:
        self.left = nodes


def _scalar(value: Any) -> Markup:
    if value is None:
        return Markup('<span class="tv-null">null</span>')
    if isinstance(value, bool):
        return Markup('<span class="tv-bool">{}</span>').format("true" if value else "false")
    if isinstance(value, int | float):
        return Markup('<span class="tv-num">{}</span>').format(value)
    return Markup('<span class="tv-str">{}</span>').format(str(value))


def _node(value: Any, depth: int, budget: _Budget) -> Markup:
    if not isinstance(value, dict | list):
        return _scalar(value)
    if depth >= MAX_DEPTH:
        text = orjson.dumps(value).decode()
        return Markup('<code class="tv-deep">{}</code>').format(text[:500])
    items = value.items() if isinstance(value, dict) else enumerate(value)
    if not value:
        return Markup('<span class="tv-empty">{}</span>').format(
            "{}" if isinstance(value, dict) else "[]"
        )
    parts: list[Markup] = []
    for key, child in items:
        budget.left -= 1
        if budget.left < 0:
            parts.append(Markup('<li class="tv-more">… more items not shown</li>'))
            break
        key_class = "tv-key" if isinstance(value, dict) else "tv-idx"
        parts.append(
            Markup('<li><span class="{}">{}</span> {}</li>').format(
                key_class, str(key), _node(child, depth + 1, budget)
            )
        )
    return Markup('<ul class="tree">{}</ul>').format(Markup("").join(parts))


def render_tree(value: Any) -> Markup:
    """HTML for a JSON value: nested lists of key → value, scalars typed by CSS class."""
    if value is None:
        return Markup('<p class="muted">No extra fields.</p>')
    return _node(value, 0, _Budget(MAX_NODES))
