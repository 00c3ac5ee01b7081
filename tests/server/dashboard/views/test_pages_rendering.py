"""The pure rendering helpers: SVG charts, the extra tree, safe redirects, the extra field."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from tracehub_server.dashboard.charts import Bucket, sparkline, volume_chart, volume_svg
from tracehub_server.dashboard.explorer import expand_extra_field
from tracehub_server.dashboard.redirects import safe_next
from tracehub_server.dashboard.tree import MAX_DEPTH, MAX_NODES, render_tree
from tracehub_server.storage.log_filters import FilterError

NOW = datetime(2024, 5, 1, 12, tzinfo=timezone.utc)


def test_volume_chart_stacks_levels_and_says_when_empty() -> None:
    """Bars carry a rect per level with a tooltip; an all-zero series draws no SVG."""
    buckets = [Bucket(NOW + timedelta(hours=i), {"INFO": i, "ERROR": 1}) for i in range(5)]
    svg = str(volume_svg(buckets))
    assert svg.startswith("<svg")
    assert svg.count('class="lv-error"') == 5
    assert "<title>2024-05-01 16:00 UTC: 5" in svg
    assert "No logs" in str(volume_chart([Bucket(NOW, {})]))


def test_chart_escapes_unknown_level_names() -> None:
    """A level name from data cannot inject markup into the SVG."""
    svg = str(volume_chart([Bucket(NOW, {"<script>": 3})]))
    assert "<script>" not in svg
    assert 'class="lv-other"' in svg


def test_sparkline_handles_empty_and_zero_series() -> None:
    """Empty or all-zero series give an empty SVG, not an error or a division by zero."""
    assert "<rect" not in str(sparkline([]))
    assert "<rect" not in str(sparkline([0, 0]))
    assert str(sparkline([0, 2, 4])).count("<rect") == 2


def test_tree_escapes_keys_and_values() -> None:
    """Keys and values of extra are text, never markup."""
    html = str(render_tree({"<b>k</b>": "<img src=x onerror=alert(1)>", "n": [1, None, True]}))
    assert "<img" not in html
    assert "&lt;b&gt;k&lt;/b&gt;" in html
    assert "tv-null" in html
    assert "tv-bool" in html


def test_tree_bounds_depth_and_size() -> None:
    """A hostile deeply nested or huge extra renders bounded output."""
    deep: object = "leaf"
    for _ in range(MAX_DEPTH * 10):
        deep = {"k": deep}
    assert str(render_tree(deep)).count("<ul") <= MAX_DEPTH
    wide = str(render_tree({f"k{i}": i for i in range(MAX_NODES * 3)}))
    assert wide.count("<li>") <= MAX_NODES
    assert "more items not shown" in wide


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/projects/1/logs?level=ERROR", "/projects/1/logs?level=ERROR"),
        ("//evil.example/", "/"),
        ("/\\evil.example", "/"),
        ("https://evil.example/", "/"),
        ("javascript:alert(1)", "/"),
        ("/ok\r\nSet-Cookie: x=1", "/"),
        ("", "/"),
        ("/" + "a" * 3000, "/"),
    ],
)
def test_safe_next_only_allows_local_paths(target: str, expected: str) -> None:
    """The login redirect never leaves the site or carries header-splitting characters."""
    assert safe_next(target) == expected


def test_extra_field_expands_pairs_and_rejects_junk() -> None:
    """ "a=1 b=x" becomes extra.a / extra.b filters; a word without "=" names the field."""
    assert expand_extra_field("user_id=usr_42 plan=pro") == [
        ("extra.user_id", "usr_42"),
        ("extra.plan", "pro"),
    ]
    with pytest.raises(FilterError) as info:
        expand_extra_field("oops")
    assert info.value.param == "extra"
    with pytest.raises(FilterError):
        expand_extra_field(" ".join(f"k{i}=v" for i in range(50)))
