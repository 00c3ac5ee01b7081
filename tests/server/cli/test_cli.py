"""The real ``tracehub`` command in a subprocess: projects, keys, users, DLQ, bad input."""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
from pathlib import Path

import pytest

TRACEHUB = [sys.executable, "-c", "from tracehub_server.cli import main; main()"]


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRACEHUB_")}
    env["HOME"] = str(tmp_path)
    env.update(extra)
    return env


def run(tmp_path: Path, *args: str, stdin: str = "", **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*TRACEHUB, *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=_env(tmp_path, **env),
        timeout=120,
    )


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _assert_one_line_error(result: subprocess.CompletedProcess, code: int, text: str) -> None:
    assert result.returncode == code, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    assert text in lines[0]
    assert "Traceback" not in result.stderr


@pytest.fixture
def db(migrated_database_url: str) -> dict[str, str]:
    return {"TRACEHUB_DATABASE_URL": migrated_database_url}


def test_project_and_key_lifecycle(tmp_path: Path, db: dict[str, str]) -> None:
    """project create prints an id and a th_ key; apikey create/list/revoke manage keys."""
    name = f"cli-{secrets.token_hex(4)}"
    created = run(tmp_path, "project", "create", name, **db)
    assert created.returncode == 0, created.stderr
    lines = dict(line.split(": ", 1) for line in created.stdout.splitlines())
    assert lines["api key"].startswith("th_")
    assert len(lines["api key"]) >= 3 + 32
    project_id = lines["project id"]

    second = run(tmp_path, "apikey", "create", name, "--name", "ci", **db)
    key_id = second.stdout.splitlines()[0].split(": ")[1]
    listing = run(tmp_path, "apikey", "list", project_id, **db)
    assert listing.returncode == 0
    assert listing.stdout.count("active") == 2
    assert lines["api key"] not in listing.stdout

    assert run(tmp_path, "apikey", "revoke", key_id, **db).returncode == 0
    assert "revoked" in run(tmp_path, "apikey", "list", name, **db).stdout
    duplicate = run(tmp_path, "project", "create", name, **db)
    _assert_one_line_error(duplicate, 1, "already exists")


def test_project_list_explains_an_empty_installation(
    tmp_path: Path, empty_database_url: str
) -> None:
    """No projects: a hint on stderr, not silence; then a header and one line per project."""
    db = {"TRACEHUB_DATABASE_URL": empty_database_url}
    empty = run(tmp_path, "project", "list", **db)
    assert empty.returncode == 0
    assert empty.stdout == ""
    assert "tracehub project create" in empty.stderr

    assert run(tmp_path, "project", "create", "shop", **db).returncode == 0
    listing = run(tmp_path, "project", "list", **db)
    header, *rows = listing.stdout.splitlines()
    assert header == "id\tname\tcreated"
    assert [row.split("\t")[1] for row in rows] == ["shop"]
    assert listing.stderr == ""


@pytest.mark.parametrize(
    ("args", "text"),
    [
        (("apikey", "list", "no-such-project"), "no project"),
        (("apikey", "create", "99999999999"), "no project"),
        (("apikey", "revoke", "abc"), "KEY_ID must be a positive integer"),
        (("apikey", "revoke", "0"), "KEY_ID must be a positive integer"),
        (("apikey", "revoke", "99999999999"), "no API key with id"),
        (("project", "create", ""), "must not be empty"),
        (("project", "create", "x" * 500), "at most"),
        (("project", "create", "bad\x01name"), "control characters"),
    ],
)
def test_bad_input_is_one_line_exit_1(
    tmp_path: Path, db: dict[str, str], args: tuple[str, ...], text: str
) -> None:
    """Unknown projects, bad key ids and bad names are one error line, exit 1."""
    _assert_one_line_error(run(tmp_path, *args, **db), 1, text)


def test_usage_errors_are_one_line_exit_2(tmp_path: Path) -> None:
    """Unknown options and missing arguments are one error line, exit 2."""
    _assert_one_line_error(run(tmp_path, "apikey", "revoke", "-5"), 2, "No such option")
    _assert_one_line_error(run(tmp_path, "project", "create"), 2, "Missing argument")
    _assert_one_line_error(run(tmp_path, "nonsense"), 2, "No such command")


def test_migrate_is_idempotent(tmp_path: Path, db: dict[str, str]) -> None:
    """migrate on an up-to-date database says so, and still lists what was applied when."""
    result = run(tmp_path, "migrate", **db)
    assert result.returncode == 0
    assert "nothing to apply: the schema is up to date" in result.stdout
    assert "0001_initial.sql  " in result.stdout
    assert " UTC" in result.stdout
    assert "(now)" not in result.stdout


def test_migrate_on_a_new_database_says_what_it_applied(
    tmp_path: Path, empty_database_url: str
) -> None:
    """On an empty database every migration is listed as applied now, with its time."""
    result = run(tmp_path, "migrate", TRACEHUB_DATABASE_URL=empty_database_url)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("0001_initial.sql")
    assert lines[0].endswith("UTC (now)")
    assert "migration(s) now; the schema is up to date" in lines[-1]


def test_bad_settings_are_one_line_exit_2(tmp_path: Path, migrated_database_url: str) -> None:
    """Bad URLs, unreachable or refusing services: one line naming the problem, exit 2."""
    base = migrated_database_url.rsplit("/", 1)[0]
    cases = [
        ({"TRACEHUB_DATABASE_URL": "mysql://x/y"}, "TRACEHUB_DATABASE_URL"),
        ({"TRACEHUB_DATABASE_URL": f"postgresql://127.0.0.1:{_closed_port()}/x"}, "cannot reach"),
        ({"TRACEHUB_DATABASE_URL": f"{base}/no_such_db_{secrets.token_hex(3)}"}, "does not exist"),
        ({"TRACEHUB_DATABASE_URL": "postgresql://nobody@127.0.0.1:5432/x"}, "credentials"),
        ({"TRACEHUB_DATABASE_URL": "postgresql://u@[bad/x"}, "not a valid PostgreSQL URL"),
        ({"TRACEHUB_RETENTION_DAYS": "-1"}, "TRACEHUB_RETENTION_DAYS"),
        ({"TRACEHUB_PUBLISH_IN_FLIGHT": "0"}, "TRACEHUB_PUBLISH_IN_FLIGHT"),
    ]
    for env, text in cases:
        _assert_one_line_error(run(tmp_path, "migrate", **env), 2, text)


def test_worker_and_broker_errors(tmp_path: Path, db: dict[str, str], amqp_url: str) -> None:
    """worker needs an AMQP URL; a refused or unreachable broker is one line, exit 2."""
    _assert_one_line_error(run(tmp_path, "worker", **db), 2, "TRACEHUB_AMQP_URL")
    bad_login = amqp_url.replace("guest:guest", "guest:wrong")
    _assert_one_line_error(
        run(tmp_path, "worker", **db, TRACEHUB_AMQP_URL=bad_login), 2, "credentials"
    )
    closed = f"amqp://guest:guest@127.0.0.1:{_closed_port()}/"
    _assert_one_line_error(
        run(tmp_path, "worker", **db, TRACEHUB_AMQP_URL=closed), 2, "cannot reach RabbitMQ"
    )


def test_dlq_redrive(tmp_path: Path, amqp_url: str) -> None:
    """dlq redrive reports how many messages it moved; without a broker it says why not."""
    queue = f"cli_{secrets.token_hex(4)}"
    result = run(tmp_path, "dlq", "redrive", TRACEHUB_AMQP_URL=amqp_url, TRACEHUB_QUEUE_NAME=queue)
    assert result.returncode == 0, result.stderr
    assert "moved 0 message(s)" in result.stdout
    _assert_one_line_error(run(tmp_path, "dlq", "redrive"), 2, "TRACEHUB_AMQP_URL")


def test_user_create_reads_the_password_from_stdin(tmp_path: Path, db: dict[str, str]) -> None:
    """user create takes the password from stdin; a short one is refused."""
    email = f"u{secrets.token_hex(4)}@example.com"
    result = run(tmp_path, "user", "create", email, "--admin", stdin="s3cret-password\n", **db)
    assert result.returncode == 0, result.stderr
    assert "user id" in result.stdout
    _assert_one_line_error(
        run(tmp_path, "user", "create", "x" + email, stdin="short\n", **db), 1, "password"
    )
