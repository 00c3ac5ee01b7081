"""The architecture page's layer tables and the import-linter contracts say the same thing."""

from __future__ import annotations

import configparser
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CONTRACTS = {"tracehub": "sdk-layers", "tracehub_server": "server-layers"}
HEADINGS = {
    "tracehub": "### The SDK, `tracehub`",
    "tracehub_server": "### The server, `tracehub_server`",
}


def _contract_layers(package: str) -> list[set[str]]:
    config = configparser.ConfigParser()
    config.read(ROOT / ".importlinter")
    section = config[f"importlinter:contract:{CONTRACTS[package]}"]
    return [
        {name.strip() for name in line.split("|")}
        for line in section["layers"].strip().splitlines()
    ]


def _documented_layers(package: str) -> list[set[str]]:
    text = (ROOT / "docs" / "architecture.md").read_text()
    table = text[text.index(HEADINGS[package]) :].split("\n\n")[1]
    rows = [line for line in table.splitlines() if re.match(r"\| \d", line)]
    return [
        {name.rstrip("/") for name in re.findall(r"`([\w/]+)`", row.split("|")[2])} for row in rows
    ]


@pytest.mark.parametrize("package", sorted(CONTRACTS))
def test_the_layer_table_is_the_contract(package: str) -> None:
    """Each row of the page's table names the modules of one contract layer, top to bottom."""
    assert _documented_layers(package) == _contract_layers(package)
