"""``python -m ventanilla worker`` as a real process tree (worker → db_worker) on a temporary
SQLite database with the database tasks backend, delivering to a real SMTP server started
by the test. No pytest-django database: the worker runs in other processes."""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.notifications.conftest import SmtpServer
from tests.processes import live_processes, migrate_sqlite, process_env
from ventanilla.notifications.management.commands import worker as worker_module

DELIVERY_TIMEOUT = 40  # seconds
STOP_TIMEOUT = 30


def worker_env(tmp: Path, smtp_port: int | None = None) -> dict[str, str]:
    smtp = {"EMAIL_HOST": "127.0.0.1", "EMAIL_PORT": str(smtp_port)} if smtp_port else {}
    return process_env(tmp, **smtp)


@pytest.fixture(scope="module")
def migrated_db(tmp_path_factory) -> Path:
    return migrate_sqlite(tmp_path_factory.mktemp("worker-template"))


@pytest.fixture
def db_copy(tmp_path, migrated_db) -> Path:
    target = tmp_path / "ventanilla.sqlite3"
    target.write_bytes(migrated_db.read_bytes())
    return tmp_path


@pytest.fixture
def smtp():
    server = SmtpServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


def run_in_django(tmp: Path, code: str) -> None:
    result = subprocess.run([sys.executable, "-m", "ventanilla", "shell", "-c", code],
                            env=worker_env(tmp), capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr


ENQUEUE = """
from django.db import transaction
from ventanilla.notifications.services import outbox_enqueue_email
with transaction.atomic():
    outbox_enqueue_email(dedupe_key="worker-1", recipient="juana@example.cl",
                         template="account_verify",
                         context={"user": None, "verify_path": "/cuenta/verificar/abc/"})
"""

# A due message whose job was lost: only the periodic replay can deliver it.
LOST_JOB = """
from datetime import timedelta
from django.utils import timezone
from ventanilla.notifications.models import OutboundMessage
OutboundMessage.objects.create(dedupe_key="worker-2", recipient="pedro@example.cl",
                               subject="Mensaje sin tarea", body_text="Hola",
                               next_attempt_at=timezone.now() - timedelta(minutes=5))
"""


def children_of(pid: int) -> list[tuple[int, str]]:
    return [(child, command) for child, ppid, _group, command in live_processes()
            if ppid == pid]


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


class Worker:
    def __init__(self, tmp: Path, smtp_port: int) -> None:
        self.tmp = tmp
        self.log_path = tmp / "worker.log"
        self.log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "ventanilla", "worker", "--replay-every", "1",
             "--sweep-every", "1"],
            env=worker_env(tmp, smtp_port), stdout=self.log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    @property
    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_group_gone(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None and not group_alive(self.process.pid):
                return True
            time.sleep(0.1)
        return False

    def cleanup(self) -> None:
        if group_alive(self.process.pid):
            os.killpg(self.process.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=10)
        self.log.close()


@pytest.fixture
def start_worker():
    started = []

    def start(tmp: Path, smtp_port: int) -> Worker:
        worker = Worker(tmp, smtp_port)
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.cleanup()


def wait_for(condition, timeout: float, message) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    pytest.fail(message())


def test_worker_delivers_replays_and_stops_cleanly_on_sigterm(db_copy, smtp, start_worker):
    run_in_django(db_copy, ENQUEUE)
    run_in_django(db_copy, LOST_JOB)
    worker = start_worker(db_copy, smtp.port)

    wait_for(lambda: len(smtp.messages) >= 2, DELIVERY_TIMEOUT,
             lambda: f"got {len(smtp.messages)} message(s):\n{worker.output}")
    time.sleep(2)  # a few more replay rounds: nothing is sent twice
    subjects = sorted(m["subject"] for m in smtp.messages)
    assert subjects == ["Confirme su correo en Ventanilla", "Mensaje sin tarea"]
    assert any("db_worker" in cmd for _pid, cmd in children_of(worker.process.pid))
    with sqlite3.connect(db_copy / "ventanilla.sqlite3") as db:
        rows = db.execute("SELECT dedupe_key, status, attempts FROM "
                          "notifications_outboundmessage ORDER BY dedupe_key").fetchall()
    assert rows == [("worker-1", "sent", 1), ("worker-2", "sent", 1)]

    worker.process.send_signal(signal.SIGTERM)  # to the worker only: it must forward it
    assert worker.wait_group_gone(STOP_TIMEOUT), worker.output
    assert worker.process.returncode == 0, worker.output


def test_worker_restarts_its_db_worker_when_it_dies(db_copy, smtp, start_worker):
    worker = start_worker(db_copy, smtp.port)
    child: list[int] = []

    def find_child(exclude=()) -> bool:
        child[:] = [pid for pid, cmd in children_of(worker.process.pid)
                    if "db_worker" in cmd and pid not in exclude]
        return bool(child)

    wait_for(find_child, 20, lambda: worker.output)
    first = child[0]
    os.kill(first, signal.SIGKILL)
    wait_for(lambda: find_child(exclude={first}), 20, lambda: worker.output)
    assert worker.process.poll() is None
    assert "db_worker exited" in worker.output and "restarting it" in worker.output
    worker.process.send_signal(signal.SIGTERM)
    assert worker.wait_group_gone(STOP_TIMEOUT), worker.output
    assert worker.process.returncode == 0, worker.output


# --- the periodic loop, in process -------------------------------------------------------------

def test_a_failing_job_is_logged_and_does_not_stop_the_others(caplog, monkeypatch):
    monkeypatch.setattr(worker_module, "close_old_connections", lambda: None)  # no database
    calls = []

    def broken():
        calls.append("broken")
        raise RuntimeError("sin base de datos")

    jobs = [worker_module.PeriodicJob("broken", 10, broken),
            worker_module.PeriodicJob("fine", 5, lambda: calls.append("fine"))]
    with caplog.at_level(logging.ERROR, logger="ventanilla.worker"):
        assert worker_module.run_due_jobs(jobs, now=100.0) == ["broken", "fine"]
    assert calls == ["broken", "fine"]
    assert "periodic job broken failed" in caplog.text
    assert worker_module.run_due_jobs(jobs, now=104.0) == []
    assert worker_module.run_due_jobs(jobs, now=105.0) == ["fine"]
    assert worker_module.run_due_jobs(jobs, now=110.0) == ["broken", "fine"]


def test_sla_sweep_is_looked_up_at_call_time(monkeypatch):
    from ventanilla.sla import services as sla_services

    seen = []
    monkeypatch.setattr(sla_services, "sla_sweep", lambda *, now: seen.append(now) or {"ok": 1},
                        raising=False)
    assert worker_module._sla_sweep() == {"ok": 1}
    assert seen == [None]
    monkeypatch.delattr(sla_services, "sla_sweep")
    assert worker_module._sla_sweep() is None  # not there (yet): nothing to do
    names = [job.name for job in worker_module.default_jobs(replay_every=60, sweep_every=0)]
    assert names == ["outbox_replay"]
