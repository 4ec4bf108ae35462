"""A worker killed (SIGKILL) in the middle of an SMTP delivery, before the server
acknowledged the message: a new worker delivers every message, each exactly once as the
server counts them (by Message-ID), in order, and the outbox shows every row sent.

The worker runs as real processes (worker → db_worker) on a temporary SQLite database with
the database task backend, against a real SMTP server (aiosmtpd) that stalls in the DATA
phase of the second message: the client sent the final "." and waits for the 250."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.notifications.conftest import RecordingHandler, SmtpServer
from tests.processes import migrate_sqlite, process_env

pytestmark = pytest.mark.slow

ENQUEUE = """
from django.db import transaction
from ventanilla.notifications.services import outbox_enqueue_email
for number in range(1, 5):
    with transaction.atomic():
        outbox_enqueue_email(dedupe_key=f"killed-{number}", recipient="juana@example.cl",
                             template="account_verify",
                             context={"user": None, "verify_path": f"/verificar/{number}/"})
"""


class StallingHandler(RecordingHandler):
    """Accepts messages, except that it holds the ``stall_at``-th DATA (counted from 1)
    without answering until ``release`` is set; a held message is never accepted (the
    client is gone by then), as a real server drops a message it did not acknowledge."""

    def __init__(self, stall_at: int) -> None:
        super().__init__()
        self.stall_at = stall_at
        self.seen = 0
        self.stalled = threading.Event()
        self.release = threading.Event()

    async def handle_DATA(self, server, session, envelope):
        self.seen += 1
        if self.seen == self.stall_at:
            self.stalled.set()
            while not self.release.is_set():
                await asyncio.sleep(0.05)
            return "451 4.3.0 Try again later"
        return await super().handle_DATA(server, session, envelope)


@pytest.fixture(scope="module")
def migrated_db(tmp_path_factory) -> Path:
    return migrate_sqlite(tmp_path_factory.mktemp("killed-template"))


def start_worker(folder: Path, smtp_port: int, log: Path) -> subprocess.Popen:
    env = process_env(folder, EMAIL_HOST="127.0.0.1", EMAIL_PORT=str(smtp_port),
                      OUTBOX_CLAIM_TIMEOUT_SECONDS="3", OUTBOX_REPLAY_GRACE_SECONDS="2")
    return subprocess.Popen(
        [sys.executable, "-m", "ventanilla", "worker", "--replay-every", "1",
         "--sweep-every", "0", "--rollup-every", "0"],
        env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT, start_new_session=True)


def kill_group(process: subprocess.Popen) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=10)


def outbox_rows(folder: Path) -> list[tuple[int, str, int]]:
    with sqlite3.connect(folder / "ventanilla.sqlite3") as db:
        return db.execute("SELECT id, status, attempts FROM notifications_outboundmessage "
                          "ORDER BY id").fetchall()


def wait_until(condition, timeout: float, describe) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    pytest.fail(describe())


def test_worker_killed_mid_data_every_message_once_in_order(tmp_path, migrated_db):
    (tmp_path / "ventanilla.sqlite3").write_bytes(migrated_db.read_bytes())
    result = subprocess.run([sys.executable, "-m", "ventanilla", "shell", "-c", ENQUEUE],
                            env=process_env(tmp_path), capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    smtp = SmtpServer()
    smtp.handler = StallingHandler(stall_at=2)
    smtp.start()
    log = tmp_path / "worker.log"
    workers: list[subprocess.Popen] = []
    try:
        workers.append(start_worker(tmp_path, smtp.port, log))
        wait_until(smtp.handler.stalled.is_set, 40,
                   lambda: log.read_text(errors="replace")[-3000:])
        kill_group(workers[0])  # kill -9 while the server holds the second message
        smtp.handler.release.set()
        rows = outbox_rows(tmp_path)
        assert [status for _id, status, _a in rows] == ["sent", "sending", "pending",
                                                        "pending"]
        assert [attempts for *_x, attempts in rows] == [1, 1, 0, 0]  # 3, 4 held back

        workers.append(start_worker(tmp_path, smtp.port, log))
        wait_until(lambda: len(smtp.messages) >= 4, 40,
                   lambda: f"{outbox_rows(tmp_path)}\n" + log.read_text(errors="replace")[-3000:])
        time.sleep(2)  # a few more replay rounds: nothing goes twice
        received = [int(re.match(r"<outbox-(\d+)@", message["Message-ID"]).group(1))
                    for message in smtp.messages]
        ids = [row[0] for row in outbox_rows(tmp_path)]
        assert received == ids  # each once, in the order they were written
        assert outbox_rows(tmp_path) == [(ids[0], "sent", 1), (ids[1], "sent", 2),
                                         (ids[2], "sent", 1), (ids[3], "sent", 1)]
    finally:
        for worker in workers:
            kill_group(worker)
        smtp.handler.release.set()
        smtp.stop()
