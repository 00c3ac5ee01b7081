"""The documentation names only settings, commands and metrics that exist, and all of them."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from types import ModuleType

import click
import pytest
from prometheus_client import REGISTRY

import tracehub_server.app  # noqa: F401 -- importing the composition root registers every metric
from tracehub.entry import WIRE_FIELDS
from tracehub_server.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
PAGES = [*sorted((ROOT / "docs").rglob("*.md")), ROOT / "README.md"]
#: Variables that are not server settings: the SDK's default endpoint, the test suite's, and
#: the one the examples keep an API key in.
NOT_SETTINGS = {
    "TRACEHUB_API_KEY",
    "TRACEHUB_ENDPOINT",
    "TRACEHUB_SCREENSHOTS",
    "TRACEHUB_TEST_AMQP_URL",
    "TRACEHUB_TEST_PG_URL",
}
#: ``tracehub_*`` identifiers the docs name that are not metrics.
NOT_METRICS = {"tracehub_server", "tracehub_session", "tracehub_ensure_log_partition"}
# A command line: `tracehub` at the start of a line, of inline code, or after $( && | .
COMMAND = re.compile(r"(?:^|[`(]|&& |\| )\s*tracehub((?: [a-z][a-z-]*)+)", re.MULTILINE)
METRIC_SUFFIX = re.compile(r"_(total|bucket|sum|count)$")


def _load_reference() -> ModuleType:
    path = ROOT / "docs" / "hooks" / "reference.py"
    spec = importlib.util.spec_from_file_location("docs_reference", path)
    if spec is None or spec.loader is None:
        raise ImportError(path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


reference = _load_reference()


def _text() -> str:
    return "\n".join(page.read_text(encoding="utf-8") for page in PAGES)


def _resolve(words: list[str]) -> click.Command | None:
    """The command ``tracehub <words>`` runs, or None if there is none."""
    command: click.Command = reference.cli
    for word in words:
        if not isinstance(command, click.Group):
            return command  # the rest are arguments
        sub = command.commands.get(word)
        if sub is None:
            return None
        command = sub
    return command


def test_every_setting_the_docs_name_exists() -> None:
    """Each TRACEHUB_* variable in the docs is a Settings field (or a known non-setting)."""
    named = set(re.findall(r"\bTRACEHUB_[A-Z0-9_]*[A-Z0-9]", _text())) - NOT_SETTINGS
    fields = {f"TRACEHUB_{name.upper()}" for name in Settings.model_fields}
    assert sorted(named - fields) == []


def test_every_setting_is_documented_with_its_meaning() -> None:
    """The generated reference lists every field, each with its #: comment."""
    table = reference.settings_table()
    comments = reference.setting_comments()
    for name in Settings.model_fields:
        assert f"`TRACEHUB_{name.upper()}`" in table
        assert comments.get(name), f"Settings.{name} has no #: comment for the reference"
    assert "<!-- reference: settings -->" in (ROOT / "docs/server/configuration.md").read_text()


def test_wire_format_fields_are_generated_from_the_entry_definition() -> None:
    """The wire-format page's field table comes from tracehub.entry: every sent field, no other."""
    table = reference.wire_fields_table()
    names = re.findall(r"^\| `(\w+)` \|", table, re.MULTILINE)
    assert names == [field.name for field in WIRE_FIELDS]
    assert "<!-- reference: wire-fields -->" in (ROOT / "docs/reference/wire-format.md").read_text()


def test_every_command_the_docs_name_exists() -> None:
    """Each `tracehub <command>` in the docs' code resolves to a click command."""
    unknown = sorted(
        {
            match.group(0).strip(" `(&|")
            for match in COMMAND.finditer(_text())
            if _resolve(match.group(1).split()) is None
        }
    )
    assert unknown == []


def test_every_command_is_in_the_cli_reference() -> None:
    """The generated CLI reference has a section for every command, token and search-index too."""
    text = reference.cli_reference()
    paths = [" ".join(path) for path, _ in reference.iter_commands()]
    assert {"tracehub token create", "tracehub search-index enable"} <= set(paths)
    for path in paths:
        assert f"### `{path}`" in text
    assert "<!-- reference: cli -->" in (ROOT / "docs/server/cli.md").read_text()


@pytest.fixture(scope="module")
def metric_names() -> set[str]:
    """The family names of every tracehub_* metric the server registers."""
    reference.metric_modules()
    return {family.name for family in REGISTRY.collect() if family.name.startswith("tracehub_")}


def test_every_metric_the_docs_name_exists(metric_names: set[str]) -> None:
    """Each tracehub_* name in the docs is a metric (suffixes aside) or a known identifier."""
    named = set(re.findall(r"\btracehub_[a-z_]*[a-z]", _text())) - NOT_METRICS
    assert sorted(n for n in named if METRIC_SUFFIX.sub("", n) not in metric_names) == []


def test_every_metric_is_in_the_metrics_reference(metric_names: set[str]) -> None:
    """The generated metrics table lists every registered metric."""
    table = reference.metrics_table()
    for name in metric_names:
        assert f"`{name}" in table, name
    assert "<!-- reference: metrics -->" in (ROOT / "docs/operations.md").read_text()
