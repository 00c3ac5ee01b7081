"""The documented one-way imports, checked by reading the source with ``ast``.

Server layers (``tracehub_server.<layer>``) may not import the layers above them, whether at
module level, inside a function or under ``TYPE_CHECKING``: a lazy import is still a
dependency. The SDK (``tracehub``) never imports the server, and imports no web framework
or server at import time outside ``tracehub/integrations/`` (an application without the
framework must still be able to import the SDK). Dynamic imports (``importlib``) are not
followed.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

import tracehub
import tracehub_server

SERVER = Path(tracehub_server.__file__).parent
SDK = Path(tracehub.__file__).parent

#: layer -> server packages it must not import (``tracehub_server.<name>``).
SERVER_RULES: dict[str, tuple[str, ...]] = {
    "storage": ("api", "queue", "worker", "dashboard", "auth", "cli", "grouping"),
    "grouping": ("api", "queue", "worker", "dashboard", "storage", "cli"),
    "dashboard": ("api", "queue", "worker", "cli"),
    "queue": ("api", "worker", "dashboard", "cli"),
    "worker": ("api", "dashboard", "cli"),
    "alerts": ("api", "queue", "worker", "dashboard", "cli"),
}
#: Web frameworks and servers the SDK core may not import when it is imported.
WEB_FRAMEWORKS = frozenset(
    {
        "aiohttp", "bottle", "django", "falcon", "fastapi", "flask", "gunicorn", "hypercorn",
        "litestar", "pyramid", "quart", "sanic", "starlette", "tornado", "uvicorn", "werkzeug",
    }
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class ImportSite:
    """One module an import statement names, and whether it runs when the file is imported."""

    target: str
    line: int
    at_import_time: bool


def _module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _resolve(node: ast.ImportFrom, module: str, is_package: bool) -> str:
    """The absolute module of a ``from … import`` (relative ones resolved against ``module``)."""
    if not node.level:
        return node.module or ""
    base = module.split(".")
    drop = node.level - 1 if is_package else node.level
    base = base[: len(base) - drop] if drop else base
    return ".".join([*base, node.module] if node.module else base)


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def import_sites(source: str, module: str, *, is_package: bool = False) -> Iterator[ImportSite]:
    """Every module ``source`` imports; ``from a import b`` names both ``a`` and ``a.b``.

    ``at_import_time`` is False inside functions and ``if TYPE_CHECKING:`` blocks, the
    places whose imports do not run when the module is imported.
    """

    def visit(node: ast.AST, eager: bool) -> Iterator[ImportSite]:
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield ImportSite(alias.name, node.lineno, eager)
        elif isinstance(node, ast.ImportFrom):
            base = _resolve(node, module, is_package)
            yield ImportSite(base, node.lineno, eager)
            for alias in node.names:
                if alias.name != "*":
                    yield ImportSite(f"{base}.{alias.name}", node.lineno, eager)
        for field, value in ast.iter_fields(node):
            lazy = isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)) or (
                isinstance(node, ast.If) and field == "body" and _is_type_checking(node.test)
            )
            children = value if isinstance(value, list) else [value]
            for child in children:
                if isinstance(child, ast.AST):
                    yield from visit(child, eager and not lazy)

    yield from visit(ast.parse(source), True)


def _python_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*.py") if "__pycache__" not in p.parts)


def _sites_of(path: Path, root: Path) -> Iterator[ImportSite]:
    yield from import_sites(
        path.read_text(encoding="utf-8"),
        _module_name(path, root),
        is_package=path.name == "__init__.py",
    )


def _within(target: str, package: str) -> bool:
    return target == package or target.startswith(package + ".")


def violations(layer: str, forbidden: tuple[str, ...]) -> list[str]:
    """``file:line -> module`` for each import of a forbidden package by ``layer``."""
    found = []
    banned = [f"tracehub_server.{name}" for name in forbidden]
    for path in _python_files(SERVER / layer):
        for site in _sites_of(path, SERVER):
            if any(_within(site.target, package) for package in banned):
                found.append(f"{path.relative_to(SERVER.parent)}:{site.line} -> {site.target}")
    return sorted(set(found))


def test_every_layer_in_the_rules_exists_and_has_modules() -> None:
    """A renamed or moved layer fails here instead of passing the rules vacuously."""
    for layer in SERVER_RULES:
        assert _python_files(SERVER / layer), f"no modules under tracehub_server/{layer}/"


@pytest.mark.parametrize("layer", sorted(SERVER_RULES))
def test_server_layer_imports_only_downwards(layer: str) -> None:
    """The layer imports nothing from the packages its rule forbids, not even lazily."""
    assert violations(layer, SERVER_RULES[layer]) == []


def test_sdk_never_imports_the_server() -> None:
    """No module of the SDK imports ``tracehub_server``, at any level."""
    found = [
        f"{path.relative_to(SDK.parent)}:{site.line} -> {site.target}"
        for path in _python_files(SDK)
        for site in _sites_of(path, SDK)
        if _within(site.target, "tracehub_server")
    ]
    assert found == []


def test_sdk_imports_no_web_framework_at_import_time_outside_integrations() -> None:
    """Importing the SDK core pulls in no web framework or server; integrations may."""
    integrations = SDK / "integrations"
    found = [
        f"{path.relative_to(SDK.parent)}:{site.line} -> {site.target}"
        for path in _python_files(SDK)
        if integrations not in path.parents
        for site in _sites_of(path, SDK)
        if site.at_import_time and site.target.split(".")[0] in WEB_FRAMEWORKS
    ]
    assert found == []


# --- the checker itself: a rule that sees nothing would pass forever --------------------

HOSTILE = """
import os, tracehub_server.api.app as app_module
from tracehub_server import api
from .. import worker
from ..api.query import deps
from . import *
if TYPE_CHECKING:
    import fastapi
try:
    import flask
except ImportError:
    flask = None
class Holder:
    import django
def later():
    import starlette.requests
    from ..cli import serve
"""


def _found(source: str, module: str, *, is_package: bool = False) -> dict[str, bool]:
    return {s.target: s.at_import_time for s in import_sites(source, module, is_package=is_package)}


def test_checker_sees_every_import_form() -> None:
    """Plain, aliased, ``from``, relative, starred, lazy and guarded imports are all found."""
    sites = _found(HOSTILE, "tracehub_server.storage.logs")
    assert sites["tracehub_server.api.app"] is True
    assert sites["tracehub_server.api"] is True
    assert sites["tracehub_server.worker"] is True
    assert sites["tracehub_server.api.query.deps"] is True
    assert "tracehub_server.storage" in sites
    assert sites["tracehub_server.cli.serve"] is False
    assert sites["starlette.requests"] is False
    assert sites["fastapi"] is False
    assert sites["flask"] is True
    assert sites["django"] is True


def test_checker_resolves_relative_imports_of_a_package_init() -> None:
    """In ``__init__.py`` one dot is the package itself, not its parent."""
    sites = _found(
        "from . import base\nfrom ..api import app\n", "tracehub_server.queue", is_package=True
    )
    assert "tracehub_server.queue.base" in sites
    assert "tracehub_server.api.app" in sites


def test_checker_does_not_confuse_prefixes() -> None:
    """``tracehub_server.apis`` is not ``tracehub_server.api``; ``tracehub`` is not the server."""
    assert not _within("tracehub_server.apis", "tracehub_server.api")
    assert _within("tracehub_server.api", "tracehub_server.api")
    assert not _within("tracehub.client", "tracehub_server")


def test_checker_rejects_malformed_source() -> None:
    """A file that does not parse fails loudly instead of counting as import-free."""
    with pytest.raises(SyntaxError):
        list(import_sites("from import (", "tracehub_server.storage.x"))


def test_checker_handles_huge_flat_modules() -> None:
    """Thousands of imports in one file are all reported (no depth or count limit)."""
    source = "\n".join(f"import mod{i}" for i in range(5000))
    assert len(list(import_sites(source, "tracehub_server.storage.big"))) == 5000
