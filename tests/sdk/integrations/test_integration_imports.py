"""Import hygiene: no framework is imported unless asked for; missing ones say what to install."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

FRAMEWORKS = ("starlette", "fastapi", "flask", "werkzeug", "django", "asgiref")


def run_python(code: str) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a fresh interpreter (bounded) and capture its output."""
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=60
    )


def test_importing_the_sdk_and_integrations_package_imports_no_framework() -> None:
    """tracehub, tracehub.integrations, the bridge and the crash hooks load no framework."""
    result = run_python(
        f"""
        import sys
        import tracehub, tracehub.integrations
        import tracehub.integrations.logging, tracehub.integrations.unhandled
        loaded = sorted(m for m in {FRAMEWORKS!r} if m in sys.modules)
        print(",".join(loaded))
        """
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == ""


@pytest.mark.parametrize(
    ("module", "blocked", "extra"),
    [
        ("tracehub.integrations.fastapi", "starlette", "fastapi"),
        ("tracehub.integrations.flask", "flask", "flask"),
        ("tracehub.integrations.django", "django", "django"),
    ],
)
def test_missing_framework_raises_a_clear_import_error(
    module: str, blocked: str, extra: str
) -> None:
    """Without its framework, an integration names the extra that installs it."""
    result = run_python(
        f"""
        import sys
        sys.modules[{blocked!r}] = None  # as if the framework were not installed
        import tracehub
        try:
            import {module}
        except ImportError as exc:
            print(exc)
        """
    )
    assert result.returncode == 0, result.stderr
    assert f"pip install 'tracehub-sdk[{extra}]'" in result.stdout
    assert module in result.stdout


@pytest.mark.parametrize(
    "module",
    [
        "tracehub.integrations.fastapi",
        "tracehub.integrations.flask",
        "tracehub.integrations.django",
        "tracehub.integrations.logging",
        "tracehub.integrations.unhandled",
    ],
)
def test_public_names_are_declared_and_importable(module: str) -> None:
    """Each integration's __all__ is sorted and every name in it exists."""
    pytest.importorskip(module)
    mod = sys.modules[module]
    assert list(mod.__all__) == sorted(mod.__all__)
    assert all(hasattr(mod, name) for name in mod.__all__)
