"""The served mode of ``bench_integrations.py``: the hello apps behind real HTTP servers.

The in-process mode times the app alone, so a middleware's 2 µs is measured against
30 µs of framework. A deployed app also pays its server (HTTP parsing, the event loop or
the accept loop, socket I/O), so this mode runs each app, bare and traced, in its own
server subprocess on 127.0.0.1 and measures what a client and the host see:

* uvicorn (its defaults: httptools and uvloop where installed; no access log, log level
  warning) for FastAPI and Starlette, over one keep-alive HTTP/1.1 connection;
* gunicorn's sync worker, one worker (no access log, log level warning), for Flask and
  Django. That worker closes every connection after its response, so the client
  connects once per request, and the round trip includes the connect.

With two CPUs or more, the client runs on one and every server on another (pinned with
``sched_setaffinity``), so no variant gets a luckier placement than another.

Per round, each request is timed on its own from the client, and the server's CPU time
is read from ``/proc`` before and after the round (the gunicorn master and its worker
summed): in ns from each thread's ``schedstat``, which gives per-round figures, and as
utime + stime in 10 ms ticks from ``stat``, summed over the whole run as a check.

The servers never log to TraceHub: no ``TraceHubLogger`` is created in them, and the
middleware reports crashes only to a default logger, which stays unset.

Linux only (``/proc``). A server is started in a session of its own, so a Ctrl-C at the
terminal reaches the bench, whose ``finally`` stops it; if the bench is killed outright,
the kernel sends the server SIGTERM (``PR_SET_PDEATHSIG``).
"""

from __future__ import annotations

import contextlib
import ctypes
import importlib
import importlib.util
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from time import perf_counter_ns
from typing import IO, Any, NamedTuple

BENCH_DIR = Path(__file__).resolve().parent
#: ``framework:variant`` of the app a server subprocess builds: variant is bare, traced or
#: floor, e.g. ``flask:traced``.
APP_ENV = "TRACEHUB_BENCH_APP"
HOST = "127.0.0.1"
CLOCK_TICK_NS = 1_000_000_000 // os.sysconf("SC_CLK_TCK")


def app_from_env() -> Any:
    """Build the app named by ``$TRACEHUB_BENCH_APP``: the servers' app factory.

    The same builders as the in-process mode, so both modes measure the same apps.
    Imported late: ``bench_integrations`` imports this module.
    """
    import bench_integrations

    key, variant = os.environ[APP_ENV].split(":")
    _, build, _, module_name = bench_integrations.FRAMEWORKS[key]
    module = None
    if variant == "traced":
        module = importlib.import_module(f"tracehub.integrations.{module_name}")
    elif variant == "floor":
        module = bench_integrations.FLOOR
    return build(module)


# -- servers -----------------------------------------------------------------------------


class ServerKind(NamedTuple):
    """How to start one production server and how it treats connections."""

    title: str
    keep_alive: bool
    command: Callable[[int], list[str]]


def _uvicorn_command(port: int) -> list[str]:
    return [
        *(sys.executable, "-m", "uvicorn", "--factory", "served:app_from_env"),
        *("--app-dir", str(BENCH_DIR), "--host", HOST, "--port", str(port)),
        *("--no-access-log", "--log-level", "warning"),
    ]


def _gunicorn_command(port: int) -> list[str]:
    # No control socket: its default path is one per user, shared with any other gunicorn.
    return [
        *(sys.executable, "-m", "gunicorn", "--pythonpath", str(BENCH_DIR)),
        *("--bind", f"{HOST}:{port}", "--workers", "1", "--worker-class", "sync"),
        *("--log-level", "warning", "--no-control-socket", "served:app_from_env()"),
    ]


def _uvicorn_title() -> str:
    """Name the implementations uvicorn's "auto" picks, as they set its cost."""
    http = "httptools" if importlib.util.find_spec("httptools") else "h11"
    loop = "uvloop" if importlib.util.find_spec("uvloop") else "asyncio"
    return f"uvicorn ({http}, {loop}; one keep-alive connection)"


UVICORN = ServerKind(_uvicorn_title(), True, _uvicorn_command)
GUNICORN = ServerKind(
    "gunicorn (sync worker, 1 worker; a connection per request)", False, _gunicorn_command
)


def _die_with_parent() -> None:
    """In the child before exec: SIGTERM it when the bench dies, even by SIGKILL."""
    pr_set_pdeathsig = 1
    ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


class Placement(NamedTuple):
    """Which CPUs the client (this process) and the servers run on."""

    client: set[int]
    servers: set[int]


def placement() -> Placement | None:
    """The client on one CPU and every server on another, or None with fewer than 2 CPUs.

    Left to the scheduler, which server shares a core with the client changes from run
    to run: measured unpinned, a server doing strictly less than bare (the floor variant)
    came out 5-18 % faster than bare on Starlette, a pure placement effect as large as the
    differences measured. Pinned, every server runs on the same core and the client always
    on the other.
    """
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < 2:
        return None
    return Placement({cpus[0]}, {cpus[-1]})


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


class Server:
    """One server subprocess serving one app on a free port of 127.0.0.1."""

    def __init__(self, kind: ServerKind, app: str, cpus: set[int] | None = None) -> None:
        self.kind = kind
        self.app = app
        self.cpus = cpus
        self.port = 0
        self.pids: list[int] = []
        self._proc: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    def start(self, timeout: float = 60.0) -> None:
        """Start it, wait until ``GET /hello`` answers, and note its processes.

        The port is picked free just before; should another process take it first, the
        server fails to bind and exits, which is noticed here and retried on a new port.
        """
        failure = ""
        for _attempt in range(3):
            self._log = tempfile.TemporaryFile()  # noqa: SIM115 - closed by stop()
            self.port = _free_port()
            self._proc = subprocess.Popen(
                self.kind.command(self.port),
                env={**os.environ, APP_ENV: self.app},
                stdin=subprocess.DEVNULL,
                stdout=self._log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=self._in_child,  # the bench is single-threaded when it forks
            )
            deadline = time.monotonic() + timeout
            ready = False
            while not ready and self._proc.poll() is None and time.monotonic() < deadline:
                # Only "not listening yet" is waited out; any other failure is raised.
                with contextlib.suppress(ConnectionRefusedError):
                    with socket.create_connection((HOST, self.port), timeout=5) as probe:
                        probe.sendall(
                            b"GET /hello HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n"
                        )
                        read_response(probe, until_close=True)
                    ready = True
                if not ready:
                    time.sleep(0.05)
            if ready and self._proc.poll() is None:
                self.pids = [self._proc.pid, *_children(self._proc.pid)]
                return
            failure = self.output()
            self.stop()
        raise RuntimeError(f"{self.kind.title} serving {self.app} did not start:\n{failure}")

    def _in_child(self) -> None:
        """Before exec: die with the bench, and keep to this server's CPUs."""
        _die_with_parent()
        if self.cpus is not None:
            os.sched_setaffinity(0, self.cpus)

    def output(self) -> str:
        """What the server printed (warnings and errors only, at its log level)."""
        if self._log is None:
            return ""
        self._log.seek(0)
        return self._log.read().decode(errors="replace")

    def check_alive(self) -> None:
        """Fail loudly if the server exited or its worker was replaced since it started."""
        if self._proc is None or self._proc.poll() is not None:
            raise RuntimeError(f"{self.app}: the server exited:\n{self.output()}")
        now = [self._proc.pid, *_children(self._proc.pid)]
        if now != self.pids:
            raise RuntimeError(f"{self.app}: server processes changed {self.pids} -> {now}")

    def settle(self, limit_ns: int = 50_000_000) -> None:
        """Wait (up to ``limit_ns``) until no server thread is running or runnable.

        A client has the response before the server is done with the request (the
        event loop's bookkeeping, the worker's close), and ``schedstat`` leaves out a
        running thread's current slice: read too soon, the round would miss about one
        request's CPU time, and the next round, of the other variant, would not get it.
        """
        deadline = perf_counter_ns() + limit_ns
        while perf_counter_ns() < deadline:
            if not any(
                _thread_state(pid, task) == b"R"
                for pid in self.pids
                for task in os.listdir(f"/proc/{pid}/task")
            ):
                return
            time.sleep(0.0002)

    def cpu(self) -> tuple[int, int]:
        """CPU time used so far by the server's processes: (ns, clock ticks).

        ``schedstat`` gives each thread's run time in ns; ``stat``'s utime + stime is the
        same time in 10 ms ticks, too coarse for one round but exact over a whole run.
        """
        ns = ticks = 0
        for pid in self.pids:
            for task in os.listdir(f"/proc/{pid}/task"):
                with open(f"/proc/{pid}/task/{task}/schedstat", "rb") as f:
                    ns += int(f.read().split()[0])
            with open(f"/proc/{pid}/stat", "rb") as f:
                fields = f.read().rpartition(b")")[2].split()
            ticks += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)
        return ns, ticks

    def stop(self, timeout: float = 15.0) -> None:
        """SIGTERM it and wait; then SIGKILL whatever is left of its process group.

        The group is killed while its leader is still an unreaped zombie, so its id
        cannot have been reused by an unrelated process.
        """
        proc, self._proc = self._proc, None
        if proc is not None:
            if proc.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    proc.terminate()
                deadline = time.monotonic() + timeout
                flags = os.WEXITED | os.WNOHANG | os.WNOWAIT
                while os.waitid(os.P_PID, proc.pid, flags) is None:
                    if time.monotonic() > deadline:
                        proc.kill()
                        deadline = float("inf")
                    time.sleep(0.02)
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)  # the session it leads: its worker
            proc.wait()
        if self._log is not None:
            self._log.close()
            self._log = None


def _thread_state(pid: int, task: str) -> bytes:
    """One thread's state letter from ``/proc`` (``R`` running or runnable, ``S`` asleep)."""
    with open(f"/proc/{pid}/task/{task}/stat", "rb") as f:
        return f.read().rpartition(b")")[2].split()[0]


def _children(pid: int) -> list[int]:
    """The child processes of ``pid`` (gunicorn's worker), from ``/proc``."""
    found: list[int] = []
    for task in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{task}/children") as f:
            found.extend(int(child) for child in f.read().split())
    return sorted(found)


@contextlib.contextmanager
def serving(kind: ServerKind, apps: Sequence[str]) -> Iterator[list[Server]]:
    """Run one server per app for the duration of the block, always stopping them.

    With two CPUs or more, the client is pinned to one and the servers to another for the
    block (see :func:`placement`).
    """
    servers: list[Server] = []
    previous = signal.getsignal(signal.SIGTERM)
    client_cpus = os.sched_getaffinity(0)
    where = placement()
    # A SIGTERM to the bench unwinds through the ``finally`` below, as Ctrl-C does.
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    try:
        for app in apps:
            servers.append(Server(kind, app, None if where is None else where.servers))
            servers[-1].start()
        if where is not None:
            os.sched_setaffinity(0, where.client)
        yield servers
    finally:
        os.sched_setaffinity(0, client_cpus)
        for server in servers:
            server.stop()
        signal.signal(signal.SIGTERM, previous)


def _exit_on_sigterm(signum: int, frame: Any) -> None:
    raise SystemExit(128 + signum)


# -- client ------------------------------------------------------------------------------


def read_response(sock: socket.socket, *, until_close: bool = False) -> bytes:
    """Read one whole response and return its head.

    The body is framed by ``Content-Length``, by chunked encoding (gunicorn's choice
    when the app gives no length: Django without ``CommonMiddleware``), or, with
    ``until_close``, by the server closing the connection. It is read to its last byte.
    """
    data = b""
    while (end := data.find(b"\r\n\r\n")) < 0:
        data += _recv(sock, data)
    head = data[:end]
    lowered = head.lower()
    start = lowered.find(b"\r\ncontent-length:")
    if start >= 0:
        start += len(b"\r\ncontent-length:")
        stop = head.find(b"\r\n", start)
        total = end + 4 + int(head[start : stop if stop >= 0 else None])
        while len(data) < total:
            data += _recv(sock, data)
    elif b"\r\ntransfer-encoding: chunked" in lowered:
        while (chunked_end := _chunked_end(data, end + 4)) is None:
            data += _recv(sock, data)
        total = chunked_end
    elif until_close:
        while chunk := sock.recv(65536):
            data += chunk
        total = len(data)
    else:
        raise ConnectionError(f"response without a length on a kept connection: {head!r}")
    if len(data) != total:
        raise ConnectionError(f"unexpected bytes after the response: {data[total:]!r}")
    return head


def _recv(sock: socket.socket, so_far: bytes) -> bytes:
    chunk = sock.recv(65536)
    if not chunk:
        raise ConnectionError(f"connection closed mid-response: {so_far!r}")
    return chunk


def _chunked_end(data: bytes, pos: int) -> int | None:
    """Where the chunked body starting at ``pos`` ends, or ``None`` while incomplete.

    Enough for these servers: chunk extensions are skipped, trailers are not expected.
    """
    while (eol := data.find(b"\r\n", pos)) >= 0:
        size = int(data[pos:eol].partition(b";")[0], 16)
        if size == 0:
            return eol + 4 if len(data) >= eol + 4 else None
        pos = eol + 2 + size + 2
    return None


def check_response(head: bytes, app: str, expected_id: str | None, traced: bool) -> None:
    """Fail loudly unless it is a 200, with ``X-Trace-ID`` exactly when ``traced``.

    With an incoming id the traced server must echo that id.
    """
    lines = head.split(b"\r\n")
    if not lines[0].startswith(b"HTTP/1.1 200 "):
        raise RuntimeError(f"{app}: expected 200, got {lines[0]!r}")
    ids = [
        line.partition(b":")[2].strip() for line in lines[1:] if line[:11].lower() == b"x-trace-id:"
    ]
    if not traced:
        if ids:
            raise RuntimeError(f"{app}: the bare server sent X-Trace-ID {ids!r}")
    elif len(ids) != 1 or (expected_id is not None and ids[0] != expected_id.encode()):
        raise RuntimeError(f"{app}: expected one X-Trace-ID {expected_id or ''}, got {ids!r}")


class RoundRunner:
    """``GET /hello`` ``n`` times against one server: a runner for ``interleaved_rounds``.

    Returns each request's round trip (ns); notes the server's CPU time over the round,
    read just before the first request is sent and once the server has gone idle after
    the last response.
    Keep-alive servers get one connection, opened outside the timed requests; the others
    a new one per request, timed from ``connect``. Every response is checked, after its
    time is taken.
    """

    def __init__(
        self, server: Server, headers: Mapping[str, str], traced: bool, *, echoes: bool = True
    ) -> None:
        self.server = server
        self.traced = traced
        # The floor variant sends one fixed id whatever came in: only its presence is checked.
        self.expected_id = headers.get("X-Trace-ID") if echoes else None
        lines = ["GET /hello HTTP/1.1", f"Host: {HOST}:{server.port}"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        self.request = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        self.cpu_ns: list[float] = []  # per round: server ns per request
        self.cpu_ticks: list[int] = []  # per round: server clock ticks
        self.requests: list[int] = []  # per round: requests
        self._conn: socket.socket | None = None

    def _connect(self) -> socket.socket:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock

    def __call__(self, n: int) -> list[int]:
        """Run one round of ``n`` requests."""
        address = (HOST, self.server.port)
        if self.server.kind.keep_alive and self._conn is None:
            self._conn = self._connect()
            self._conn.connect(address)
        times = []
        ns_before, ticks_before = self.server.cpu()
        for _ in range(n):
            if self._conn is not None:
                start = perf_counter_ns()
                self._conn.sendall(self.request)
                head = read_response(self._conn)
                times.append(perf_counter_ns() - start)
            else:
                with self._connect() as sock:
                    start = perf_counter_ns()
                    sock.connect(address)
                    sock.sendall(self.request)
                    head = read_response(sock, until_close=True)
                    times.append(perf_counter_ns() - start)
            check_response(head, self.server.app, self.expected_id, self.traced)
        self.server.settle()
        ns_after, ticks_after = self.server.cpu()
        self.cpu_ns.append((ns_after - ns_before) / n)
        self.cpu_ticks.append(ticks_after - ticks_before)
        self.requests.append(n)
        return times

    def close(self) -> None:
        """Close the keep-alive connection, if any."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None


class CpuFigures(NamedTuple):
    """Server CPU µs per request: from ns (medians of rounds) and from ticks (all rounds)."""

    medians: list[float]
    ratios: list[float]
    from_ticks: list[float]


def cpu_figures(runners: Sequence[RoundRunner]) -> CpuFigures:
    """Summarise the runners' CPU per round; the first round of each was the warm-up.

    From ``schedstat``: the median of per-round µs per request, and the median of the
    per-round ratios to ``runners[0]`` (rounds are paired by index, as they alternate).
    From ``stat`` (utime + stime): all rounds' ticks over all their requests. A 10 ms
    tick is 10 ms / requests per round of a round's figure (200 µs at 50, 20 µs at 500),
    so per-round medians of it could only land on those steps; the sum over all rounds
    is exact to a few ticks, the server being idle between its rounds.
    """
    per_round = [r.cpu_ns[1:] for r in runners]
    medians = [statistics.median(r) / 1000.0 for r in per_round]
    base = per_round[0]
    ratios = [statistics.median(x / b for b, x in zip(base, r, strict=True)) for r in per_round]
    from_ticks = [
        sum(r.cpu_ticks[1:]) * CLOCK_TICK_NS / sum(r.requests[1:]) / 1000.0 for r in runners
    ]
    return CpuFigures(medians, ratios, from_ticks)
