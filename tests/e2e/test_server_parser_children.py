"""A ``tracehub server`` killed outright leaves none of its body-parser processes behind."""

from __future__ import annotations

import os
import signal

import psutil
import pytest
from e2e_helpers import free_port, start, wait_healthy, wait_until

pytestmark = pytest.mark.slow


def _parsers(server: psutil.Process) -> list[psutil.Process]:
    return [
        child
        for child in server.children(recursive=True)
        if "spawn_main" in " ".join(child.cmdline())
    ]


def test_parser_children_exit_when_the_server_is_killed(tmp_path, pipeline_env) -> None:
    """SIGKILL (no shutdown runs): the idle parser children notice and exit on their own."""
    port = free_port()
    log = tmp_path / "server.log"
    process = start(["server", "--port", str(port)], pipeline_env, log)
    try:
        wait_healthy(port, process, log)
        server = psutil.Process(process.pid)
        children = wait_until(lambda: _parsers(server), timeout=60, what="the parser process")
    finally:
        os.kill(process.pid, signal.SIGKILL)
        process.wait(30)
    wait_until(
        lambda: not any(child.is_running() and child.status() != "zombie" for child in children),
        timeout=30,
        what="the orphaned parser processes to exit",
    )
