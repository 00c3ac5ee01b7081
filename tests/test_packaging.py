"""The two distributions: the SDK's facts agree with the server's, and the SDK installs alone.

``pyproject.toml`` builds ``tracehub-server`` (server and SDK), ``sdk/pyproject.toml``
builds ``tracehub-sdk`` (the SDK only). Neither name is held by another project on the
package index, unlike ``tracehub``.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

tomllib = pytest.importorskip("tomllib")  # Python 3.11+; the facts are the same on 3.10

ROOT = Path(__file__).resolve().parents[1]


def _project(path: Path) -> dict:
    with path.open("rb") as handle:
        return tomllib.load(handle)["project"]


SERVER = _project(ROOT / "pyproject.toml")
SDK = _project(ROOT / "sdk" / "pyproject.toml")


def test_distribution_names_are_ours() -> None:
    """Neither distribution is called ``tracehub`` (an unrelated project on the index)."""
    assert (SERVER["name"], SDK["name"]) == ("tracehub-server", "tracehub-sdk")


def test_the_sdk_distribution_restates_the_servers_sdk_facts_exactly() -> None:
    """Version, Python range, dependencies and framework extras are the same in both files."""
    assert SDK["version"] == SERVER["version"]
    assert SDK["requires-python"] == SERVER["requires-python"]
    assert SDK["dependencies"] == SERVER["dependencies"]
    extras = SERVER["optional-dependencies"]
    assert SDK["optional-dependencies"] == {k: extras[k] for k in ("fastapi", "flask", "django")}


def test_the_installed_version_is_the_distributions() -> None:
    """``tracehub.__version__`` (sent as ``sdk_version``) comes from the installed metadata."""
    import tracehub

    assert tracehub.__version__ == SERVER["version"]


@pytest.mark.slow
def test_a_fresh_virtualenv_installs_the_sdk_alone_from_a_clone(tmp_path: Path) -> None:
    """``pip install ./sdk`` (the docs' command) gives ``tracehub`` with httpx and orjson,
    and neither the server nor a web framework."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    subprocess.run(
        [str(python), "-m", "pip", "install", "-q", str(ROOT / "sdk")],
        check=True,
        timeout=600,
        cwd=tmp_path,
    )
    probe = (
        "import importlib.util as u, tracehub, json; "
        "from tracehub import TraceHubLogger, DEFAULT_ENDPOINT; "
        "print(json.dumps([tracehub.__version__, "
        "[m for m in ('tracehub_server', 'fastapi', 'flask', 'django', 'msgspec') "
        "if u.find_spec(m)]]))"
    )
    out = subprocess.run(
        [str(python), "-c", probe], check=True, timeout=60, capture_output=True, text=True
    )
    assert out.stdout.strip() == f'["{SDK["version"]}", []]'
    frozen = subprocess.run(
        [str(python), "-m", "pip", "list", "--format=freeze"],
        check=True,
        timeout=60,
        capture_output=True,
        text=True,
    ).stdout
    installed = {line.split("==")[0].lower() for line in frozen.splitlines()}
    assert {"tracehub-sdk", "httpx", "orjson"} <= installed
    assert "tracehub-server" not in installed
