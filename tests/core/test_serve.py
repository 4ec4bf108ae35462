"""End to end: ``python -m ventanilla serve`` as a real process tree on a temporary SQLite
database. No pytest-django database: the server runs in other processes."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.processes import live_processes, migrate_sqlite, process_env

START_TIMEOUT = 40  # seconds until /healthz answers (first start compiles and collects)
STOP_TIMEOUT = 30  # serve waits up to 25 s for its children before killing them


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def server_env(tmp: Path, port: int) -> dict[str, str]:
    # XDG_RUNTIME_DIR: in case an older gunicorn opens a control socket.
    return process_env(tmp, PORT=str(port), XDG_RUNTIME_DIR=str(tmp))


@pytest.fixture(scope="module")
def migrated_db(tmp_path_factory) -> Path:
    """One migrated SQLite file per module; every test runs on its own copy."""
    return migrate_sqlite(tmp_path_factory.mktemp("serve-template"))


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def group_commands(pgid: int) -> list[str]:
    """Command lines of the live (non-zombie) processes in a process group."""
    return [command for _pid, _ppid, group, command in live_processes() if group == pgid]


class Server:
    def __init__(self, tmp: Path, db: Path | None) -> None:
        self.tmp = tmp
        self.port = free_port()
        if db is not None:
            shutil.copy(db, tmp / "ventanilla.sqlite3")
        self.log_path = tmp / "serve.log"
        self.process: subprocess.Popen | None = None

    def start(self, *args: str) -> subprocess.Popen:
        self.log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "ventanilla", "serve", *args],
            env=server_env(self.tmp, self.port), stdout=self.log, stderr=subprocess.STDOUT,
            start_new_session=True,  # serve leads its own process group
        )
        return self.process

    @property
    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def get(self, path: str) -> int:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=5) as r:
                return r.status
        except urllib.error.HTTPError as exc:
            return exc.code

    def start_healthy(self, *args: str) -> None:
        """Start and wait for /healthz. The free port may be taken by someone else between
        choosing and binding it (parallel test runs): then retry on another port."""
        for _attempt in range(3):
            self.start(*args)
            if self.wait_healthy():
                return
            assert "in use" in self.output, f"serve exited early:\n{self.output}"
            self.cleanup()
            self.port = free_port()
        pytest.fail(f"no free port after three attempts:\n{self.output}")

    def wait_healthy(self) -> bool:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                return False
            try:
                if self.get("/healthz") == 200:
                    return True
            except OSError:
                pass
            time.sleep(0.3)
        pytest.fail(f"/healthz did not answer within {START_TIMEOUT} s:\n{self.output}")

    def wait_group_gone(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None and not group_alive(self.process.pid):
                return True
            time.sleep(0.1)
        return False

    def cleanup(self) -> None:
        if self.process is not None:
            if group_alive(self.process.pid):
                os.killpg(self.process.pid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=10)
            self.log.close()


@pytest.fixture
def server(tmp_path, migrated_db):
    srv = Server(tmp_path, migrated_db)
    try:
        yield srv
    finally:
        srv.cleanup()


def test_serve_starts_web_and_worker_and_stops_on_sigterm(server):
    server.start_healthy()

    assert f"http://localhost:{server.port}/" in server.output
    assert f"http://localhost:{server.port}/consola/" in server.output
    assert f"http://localhost:{server.port}/admin/" in server.output
    assert server.get("/") == 200
    commands = group_commands(server.process.pid)
    assert any("gunicorn" in c and "ventanilla.wsgi" in c for c in commands), commands
    # serve → worker (periodic jobs) → db_worker (tasks), all in serve's process group.
    assert any("ventanilla worker --replay-every 60" in c for c in commands), commands
    deadline = time.monotonic() + 20
    while not any("db_worker" in c for c in commands) and time.monotonic() < deadline:
        time.sleep(0.2)
        commands = group_commands(server.process.pid)
    tasks = [c for c in commands if "db_worker" in c]
    assert tasks and "default,notifications" in tasks[0], commands
    assert not any("outbox_replay" in c for c in commands), commands

    server.process.send_signal(signal.SIGTERM)  # to serve only: it must forward it
    assert server.wait_group_gone(STOP_TIMEOUT), (
        f"children still alive: {group_commands(server.process.pid)}\n{server.output}")
    assert server.process.returncode == 0, server.output


def test_no_worker_starts_only_the_web_server(server):
    server.start_healthy("--no-worker")
    commands = group_commands(server.process.pid)
    assert not any("db_worker" in c or "ventanilla worker" in c for c in commands), commands
    server.process.send_signal(signal.SIGINT)
    assert server.wait_group_gone(STOP_TIMEOUT), server.output
    assert server.process.returncode == 0


def test_when_a_child_dies_serve_stops_the_rest_and_fails(server):
    server.start_healthy()
    worker_pid = None
    deadline = time.monotonic() + 20
    while worker_pid is None and time.monotonic() < deadline:
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    cmdline = (entry / "cmdline").read_bytes()
                    same_group = os.getpgid(int(entry.name)) == server.process.pid
                except OSError:
                    continue
                # The worker itself (`… ventanilla worker`), not its task processes: a task
                # process that dies is restarted by the worker (tests/notifications).
                if b"worker" in cmdline.split(b"\x00") and same_group:
                    worker_pid = int(entry.name)
        time.sleep(0.2)
    assert worker_pid, server.output
    # The worker dies: serve notices, stops the web too and fails.
    os.kill(worker_pid, signal.SIGKILL)

    assert server.wait_group_gone(STOP_TIMEOUT), server.output
    assert server.process.returncode != 0
    assert "worker" in server.output


def test_refuses_to_start_on_an_unmigrated_database(tmp_path):
    srv = Server(tmp_path, db=None)
    try:
        srv.start()
        assert srv.process.wait(timeout=60) != 0
        assert "python -m ventanilla migrate" in srv.output
        assert not group_alive(srv.process.pid)
    finally:
        srv.cleanup()
