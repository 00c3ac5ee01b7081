"""The curated public surface: complete, sorted, and the documented error tree."""

from __future__ import annotations

import tracehub
from tracehub import TraceHubConfigError, TraceHubError

PUBLIC = {
    "DEFAULT_ENDPOINT",
    "DeadLetter",
    "Delivery",
    "ErrorOptions",
    "Retry",
    "Stats",
    "TraceHubConfigError",
    "TraceHubError",
    "TraceHubLogger",
    "TraceHubTransportError",
    "__version__",
    "get_default_logger",
    "set_default_logger",
}


def test_all_is_sorted_and_complete() -> None:
    """__all__ lists exactly the public names, sorted, and each exists."""
    assert tracehub.__all__ == sorted(tracehub.__all__)
    assert set(tracehub.__all__) == PUBLIC
    assert all(hasattr(tracehub, name) for name in tracehub.__all__)
    public_attrs = {n for n in vars(tracehub) if not n.startswith("_")} - {
        "annotations",
        *(m for m in vars(tracehub) if isinstance(getattr(tracehub, m), type(tracehub))),
    }
    assert public_attrs <= set(tracehub.__all__)


def test_error_tree() -> None:
    """A configuration error is a TraceHubError and a ValueError."""
    assert issubclass(TraceHubConfigError, TraceHubError)
    assert issubclass(TraceHubConfigError, ValueError)


def test_version_is_a_string() -> None:
    """__version__ is the installed distribution's version."""
    assert isinstance(tracehub.__version__, str)
    assert tracehub.__version__


def test_importing_the_sdk_imports_no_framework_or_server() -> None:
    """`import tracehub` pulls in neither the server nor any web framework."""
    import subprocess
    import sys

    code = (
        "import sys, tracehub, tracehub.testing;"
        "bad=[m for m in ('tracehub_server','fastapi','flask','django','starlette') "
        "if m in sys.modules]; print(bad); raise SystemExit(1 if bad else 0)"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
