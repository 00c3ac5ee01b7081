"""MkDocs hook: the configuration, CLI, metrics and wire references, generated from the code.

A page holds a marker line (``<!-- reference: settings -->``, ``cli``, ``metrics``,
``sdk-options`` or ``wire-fields``) that :func:`on_page_markdown` replaces with tables built
from :class:`Settings`, the click commands, the Prometheus metrics, the SDK's option groups and
the entry's definition (``tracehub.entry``), so the reference cannot drift from what the
server reads, accepts and exports. ``tests/test_docs.py`` uses the same
functions to check every name the prose uses."""

from __future__ import annotations

import ast
import dataclasses
import importlib
import inspect
import pkgutil
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click
from prometheus_client.metrics import MetricWrapperBase

import tracehub_server
from tracehub import entry
from tracehub.config import GROUPS
from tracehub_server import settings as settings_module
from tracehub_server.cli import cli

MARKER = re.compile(r"^<!-- reference: ([\w-]+) -->$", re.MULTILINE)


def setting_comments() -> dict[str, str]:
    """Each ``Settings`` field's ``#:`` comment, read from the class source."""
    source = inspect.getsource(settings_module.Settings)
    lines = source.splitlines()
    comments: dict[str, str] = {}
    (class_node,) = ast.parse(source).body
    if not isinstance(class_node, ast.ClassDef):
        raise TypeError(f"expected the Settings class, got {type(class_node).__name__}")
    for node in class_node.body:
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            above: list[str] = []
            row = node.lineno - 2
            while row >= 0 and lines[row].strip().startswith("#:"):
                above.insert(0, lines[row].strip()[2:].strip())
                row -= 1
            comments[node.target.id] = " ".join(above)
    return comments


def _default(field: Any) -> str:
    value = field.default_factory() if field.default_factory is not None else field.default
    if value is None:
        return "unset"
    # A path default is shown as the user would write it, not as this machine expands it.
    return f"`{value}`".replace(str(Path.home()), "~")


def _flags() -> dict[str, str]:
    """``--flag`` of any command that overrides a setting of the same name."""
    fields = settings_module.Settings.model_fields
    flags: dict[str, str] = {}
    for _, command in iter_commands():
        for param in command.params:
            if isinstance(param, click.Option) and param.name in fields:
                flags[param.name] = param.opts[0]
    return flags


def settings_table() -> str:
    """The configuration reference: one row per ``Settings`` field."""
    comments = setting_comments()
    flags = _flags()
    rows = ["| Variable | Flag | Default | Meaning |", "| --- | --- | --- | --- |"]
    for name, field in settings_module.Settings.model_fields.items():
        flag = f"`{flags[name]}`" if name in flags else ""
        meaning = comments.get(name, "").replace("|", "\\|")
        rows.append(f"| `TRACEHUB_{name.upper()}` | {flag} | {_default(field)} | {meaning} |")
    return "\n".join(rows)


def iter_commands(
    command: click.Command = cli, path: tuple[str, ...] = ("tracehub",)
) -> Iterator[tuple[tuple[str, ...], click.Command]]:
    """Every command of the ``tracehub`` tree with its path, groups included, sorted."""
    yield path, command
    if isinstance(command, click.Group):
        for name in sorted(command.commands):
            yield from iter_commands(command.commands[name], (*path, name))


def cli_reference() -> str:
    """The CLI reference: each command's ``--help``, exactly as the terminal shows it."""
    parts = []
    for path, command in iter_commands():
        ctx = click.Context(command, info_name=" ".join(path), terminal_width=90)
        text = command.get_help(ctx)
        parts.append(f"### `{' '.join(path)}`\n\n```text\n{text}\n```\n")
    return "\n".join(parts)


def metric_modules() -> list[Any]:
    """Every ``tracehub_server.*.metrics`` module, imported (which registers its metrics)."""
    modules = []
    for info in pkgutil.walk_packages(tracehub_server.__path__, "tracehub_server."):
        if info.name.rsplit(".", 1)[-1] == "metrics":
            modules.append(importlib.import_module(info.name))
    return modules


def exported_name(metric: MetricWrapperBase) -> str:
    """The name a scrape shows: counters gain ``_total``."""
    family = metric.describe()[0]
    return f"{family.name}_total" if family.type == "counter" else family.name


def metrics_table() -> str:
    """The metrics reference: one row per metric, grouped by the module that defines it."""
    rows = ["| Metric | Type | Labels | Meaning | Defined in |", "| --- | --- | --- | --- | --- |"]
    for module in metric_modules():
        for value in vars(module).values():
            if isinstance(value, MetricWrapperBase):
                family = value.describe()[0]
                labels = ", ".join(f"`{label}`" for label in value._labelnames)
                rows.append(
                    f"| `{exported_name(value)}` | {family.type} | {labels} | "
                    f"{family.documentation} | `{module.__name__}` |"
                )
    return "\n".join(rows)


def sdk_options_table() -> str:
    """The SDK's option reference: one row per option of each group in ``tracehub.config``."""
    rows = ["| Option | Group | Default | Meaning |", "| --- | --- | --- | --- |"]
    for keyword, group in GROUPS.items():
        for item in dataclasses.fields(group):
            value = item.default
            shown = f"{value // 2**20} MiB" if isinstance(value, int) and value >= 2**20 else value
            meaning = item.metadata["doc"].replace("|", "\\|")
            rows.append(
                f"| `{item.name}` | `{keyword}={group.__name__}(...)` | `{shown!s}` | {meaning} |"
            )
    return "\n".join(rows)


def _limit_text(field: entry.Field) -> str:
    if field.limit is None:
        return "—"
    if field.unit == "max":
        return f"0 … {field.limit:,}"
    if field.unit == "bytes":
        return f"{field.limit:,} bytes as JSON"
    return f"{field.limit:,} {field.unit}"


def _stored_text(field: entry.Field) -> str:
    if field.name != "level":
        return field.stored
    levels = ", ".join(f"`{level}`" for level in entry.LEVELS)
    aliases = ", ".join(f"`{alias}` → `{level}`" for alias, level in entry.LEVEL_ALIASES.items())
    return f"{levels}, any case; {aliases}"


def wire_fields_table() -> str:
    """The wire entry's fields, one row each, from ``tracehub.entry.WIRE_FIELDS``."""
    rows = [
        "| field | type | required | limit | when absent | stored |",
        "|---|---|---|---|---|---|",
    ]
    for field in entry.WIRE_FIELDS:
        absent = f'`"{field.default}"` (also for `""`)' if field.default else field.absent
        rows.append(
            f"| `{field.name}` | {field.kind} | {'yes' if field.required else 'no'} | "
            f"{_limit_text(field)} | {absent} | {_stored_text(field)} |"
        )
    return "\n".join(rows)


GENERATORS = {
    "settings": settings_table,
    "cli": cli_reference,
    "metrics": metrics_table,
    "sdk-options": sdk_options_table,
    "wire-fields": wire_fields_table,
}


def render(markdown: str) -> str:
    """``markdown`` with every reference marker replaced by its generated text."""
    return MARKER.sub(lambda match: GENERATORS[match.group(1)](), markdown)


def on_page_markdown(markdown: str, **_: Any) -> str:
    """MkDocs event: generate the references in the pages that hold a marker."""
    return render(markdown)
