"""Helpers for end-to-end tests: real ``tracehub`` processes, a TCP proxy, DB polling."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import httpx

TRACEHUB = [sys.executable, "-c", "from tracehub_server.cli import main; main()"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def env_for(home: Path, **settings: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRACEHUB_")}
    env["HOME"] = str(home)
    env.update(settings)
    return env


def start(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    """Start ``tracehub ARGS`` with its output in ``log``."""
    handle = log.open("ab")
    return subprocess.Popen([*TRACEHUB, *args], env=env, stdout=handle, stderr=handle)


def stop(process: subprocess.Popen, *, timeout: float = 60) -> None:
    """SIGTERM and wait (SIGKILL if it does not exit in time)."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout)


def wait_until(
    predicate: Callable[[], Any], *, timeout: float, what: str, logs: Sequence[Path] = ()
) -> Any:
    """Poll ``predicate`` until it returns a truthy value; fail after ``timeout`` seconds,
    quoting the end of each of ``logs`` (the processes whose work was awaited)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            tails = "".join(f"\n--- {log.name}:\n{log.read_text()[-3000:]}" for log in logs)
            raise AssertionError(f"timed out waiting for {what}{tails}")
        time.sleep(0.1)


def wait_healthy(port: int, process: subprocess.Popen, log: Path, *, timeout: float = 90) -> None:
    def healthy() -> bool:
        if process.poll() is not None:
            raise AssertionError(f"server exited: {log.read_text()[-2000:]}")
        try:
            return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    wait_until(healthy, timeout=timeout, what="the server to answer /healthz")


def query(dsn: str, sql: str, *args: Any) -> Any:
    """Run one query on a fresh connection and return fetchval's result."""
    import asyncpg

    async def run() -> Any:
        conn = await asyncpg.connect(dsn)
        try:
            return await conn.fetchval(sql, *args)
        finally:
            await conn.close()

    return asyncio.run(run())


def create_project(home: Path, env: dict[str, str], name: str) -> tuple[int, str]:
    """``tracehub project create NAME``: the project id and its API key."""
    result = subprocess.run(
        [*TRACEHUB, "project", "create", name],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=True,
    )
    lines = dict(line.split(": ", 1) for line in result.stdout.splitlines())
    return int(lines["project id"]), lines["api key"]


class TcpProxy:
    """Forwards 127.0.0.1:<port> to a target; stop() drops every connection (an outage)."""

    def __init__(self, target_port: int) -> None:
        self.port = free_port()
        self._target = target_port
        self._listener: socket.socket | None = None
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()

    def start(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def stop(self) -> None:
        with self._lock:
            if self._listener is not None:
                # shutdown() wakes the thread blocked in accept(); close() alone would leave
                # the socket listening (and the port taken) until a connection arrives.
                with contextlib.suppress(OSError):
                    self._listener.shutdown(socket.SHUT_RDWR)
                self._listener.close()
                self._listener = None
            for sock in self._sockets:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()
            self._sockets.clear()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(("127.0.0.1", self._target), timeout=5)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            with self._lock:
                self._sockets += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                with contextlib.suppress(OSError):
                    sock.close()
