"""The SDK version, sent as ``sdk_version`` with every entry.

The package ships in two distributions built from one repository: ``tracehub-sdk`` (the SDK
alone) and ``tracehub-server`` (the server, which carries the SDK). Whichever is installed
gives the version.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

#: Distributions that install the ``tracehub`` package, the SDK's own first.
DISTRIBUTIONS = ("tracehub-sdk", "tracehub-server")


def _installed_version() -> str:
    for name in DISTRIBUTIONS:
        try:
            return version(name)
        except PackageNotFoundError:
            continue
    return "0.0.0+unknown"  # running from a source tree that was never installed


__version__ = _installed_version()
