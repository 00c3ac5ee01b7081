"""A real ``gunicorn --preload -w 4`` whose app logs at import: every worker delivers."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from collections import Counter
from pathlib import Path

import pytest
from sdk_helpers import WAIT

from tracehub.testing import LocalReceiver

pytest.importorskip("gunicorn")
pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")

#: Entries each forked worker logs right after the fork (gunicorn's post_fork hook).
PER_WORKER = 250
WORKERS = 4
#: gunicorn starts repeated, each a new chance to fork during the master's start-up.
RUNS = 3

APP = textwrap.dedent(
    """
    import os
    from tracehub import TraceHubLogger

    logger = TraceHubLogger(
        api_key="k", service="gunicorn", environment="test",
        endpoint=os.environ["TRACEHUB_TEST_ENDPOINT"], flush_interval=0.05, dlq_path=None,
    )
    for i in range(50):
        logger.info("master import", extra={"seq": i})

    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]
    """
)

CONFIG = textwrap.dedent(
    f"""
    def post_fork(server, worker):
        from app import logger
        for i in range({PER_WORKER}):
            logger.info("worker", extra={{"seq": i}})
    """
)


def _run_once(rx: LocalReceiver, app_dir: Path) -> Counter[int]:
    """Start gunicorn, wait for every worker's entries while it runs, stop it."""
    before = len(rx.entries)
    env = {**os.environ, "TRACEHUB_TEST_ENDPOINT": rx.url, "PYTHONPATH": str(app_dir)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--preload", "-w", str(WORKERS),
         "-b", "127.0.0.1:0", "-c", str(app_dir / "conf.py"), "app:app"],
        cwd=app_dir, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            per_pid = Counter(e["pid"] for e in rx.entries[before:] if e["message"] == "worker")
            if len(per_pid) >= WORKERS and all(n >= PER_WORKER for n in per_pid.values()):
                break
            time.sleep(0.05)
        return per_pid
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(WAIT)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_every_preloaded_worker_delivers_while_it_runs(rx: LocalReceiver, tmp_path: Path) -> None:
    """Three gunicorn starts: each of the 4 workers' 250 entries arrive before shutdown."""
    (tmp_path / "app.py").write_text(APP)
    (tmp_path / "conf.py").write_text(CONFIG)
    for _ in range(RUNS):
        per_pid = _run_once(rx, tmp_path)
        assert sorted(per_pid.values()) == [PER_WORKER] * WORKERS
