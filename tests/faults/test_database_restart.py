"""PostgreSQL restarted under load, on a private cluster (the shared server at :5432 serves
other test processes and is never restarted):

- API intake (gunicorn as ``serve`` starts it) while the server restarts: clients that
  retry with the same Idempotency-Key get exactly one ticket per key and the same folio on
  every success; a request the restart breaks is a 503 JSON with Retry-After, never a 500;
  no connection is left broken afterwards;
- ``ventanilla worker`` keeps running through a database outage (its ``db_worker`` child
  dies on the first database error and is started again) and delivers every
  acknowledgement exactly once.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import defaultdict
from pathlib import Path

import psycopg
import pytest
import requests

from tests.channels.mailservers import wait_for_port
from tests.faults.pgcluster import PrivateCluster, unavailable_reason
from tests.notifications.conftest import SmtpServer, free_port
from tests.processes import process_env

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

CLIENTS = 6
# Each client keeps filing tickets until both restarts are over (the intake is fast enough to
# finish a fixed small batch before the first restart), at least MIN and at most MAX each.
MIN_TICKETS_PER_CLIENT = 4
MAX_TICKETS_PER_CLIENT = 150
DEADLINE = 45  # seconds for the whole intake under restarts

SETUP = """
import json
from tests.factories import channel, make_catalog
from ventanilla.api.services import api_key_create
catalog = make_catalog()
_key, raw = api_key_create(institution=catalog["institution"], name="faults",
                           channels=[channel("api")], can_write=True)
print("SETUP " + json.dumps({"key": raw, "ticket_type": catalog["complaint"].pk,
                              "topic": catalog["topic"].pk}))
"""


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    if os.environ.get("DATABASE_URL", "sqlite").startswith("sqlite"):
        pytest.skip("PostgreSQL only: run with DATABASE_URL=postgres://… (SQLite has no "
                    "server to restart)")
    reason = unavailable_reason()
    if reason:
        pytest.skip(reason)
    folder = tmp_path_factory.mktemp("pg-restart")
    server = PrivateCluster()
    try:
        server.start_migrated(env=process_env(folder))
        result = subprocess.run(
            [sys.executable, "-m", "ventanilla", "shell", "-c", SETUP],
            env=process_env(folder, DATABASE_URL=server.url), capture_output=True, text=True,
            timeout=120)
        assert result.returncode == 0, result.stderr
        line = next(line for line in result.stdout.splitlines() if line.startswith("SETUP "))
        yield server, folder, json.loads(line[6:])
    finally:
        server.stop()


def child_env(folder: Path, server: PrivateCluster, **extra: str) -> dict[str, str]:
    return process_env(folder, DATABASE_URL=server.url, API_RATE_KEY="100000/min",
                       ALLOWED_HOSTS="127.0.0.1,localhost", **extra)


@contextlib.contextmanager
def running(command: list[str], env: dict[str, str], log_path: Path):
    with log_path.open("ab") as log:
        process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT,
                                   start_new_session=True, cwd=Path(__file__).parents[2])
        try:
            yield process
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def gunicorn_command(port: int) -> list[str]:
    from ventanilla.core.management.commands.serve import Command as Serve

    return Serve()._commands(port=port, host="127.0.0.1", workers=2, threads=4,
                             no_worker=True, replay_every=60)["web"]


def worker_command() -> list[str]:
    return [sys.executable, "-m", "ventanilla", "worker", "--replay-every", "1",
            "--sweep-every", "0", "--rollup-every", "0"]


def tickets_by_subject(server: PrivateCluster) -> dict[str, list[str]]:
    with psycopg.connect(server.url.replace("postgres://", "postgresql://")) as conn:
        rows = conn.execute("SELECT subject, folio FROM tickets_ticket").fetchall()
    found = defaultdict(list)
    for subject, folio in rows:
        found[subject].append(folio)
    return found


def outbox(server: PrivateCluster) -> list[tuple]:
    with psycopg.connect(server.url.replace("postgres://", "postgresql://")) as conn:
        return conn.execute("SELECT status, attempts, count(*) FROM "
                            "notifications_outboundmessage GROUP BY 1, 2").fetchall()


class Client(threading.Thread):
    """Posts tickets one after the other; each one with its own Idempotency-Key, retried
    with that same key on any error or timeout until it gets 201/200."""

    def __init__(self, url: str, setup: dict, number: int, deadline: float,
                 stop: threading.Event) -> None:
        super().__init__(daemon=True)
        self.url, self.setup, self.number, self.deadline = url, setup, number, deadline
        self.stop = stop
        self.keys: list[str] = []  # every key this client started
        self.folios: dict[str, list[str]] = defaultdict(list)  # key → folio of each success
        self.statuses: list[int | str] = []
        self.bad: list[str] = []  # 500s, 503s without Retry-After or JSON

    def run(self) -> None:
        session = requests.Session()
        session.headers["Authorization"] = f"Api-Key {self.setup['key']}"
        for index in range(MAX_TICKETS_PER_CLIENT):
            if self.stop.is_set() and index >= MIN_TICKETS_PER_CLIENT:
                break
            # Pace the clients so the restarts land in the middle of the intake.
            time.sleep(0.05)
            key = uuid.uuid4().hex
            self.keys.append(key)
            body = {"ticket_type": self.setup["ticket_type"], "topic": self.setup["topic"],
                    "subject": f"faults {key}", "detail": "No llegó la colación.",
                    "full_name": "Juana Soto", "email": f"c{self.number}-{index}@example.cl"}
            while time.monotonic() < self.deadline:
                try:
                    response = session.post(f"{self.url}/api/v1/tickets/", json=body,
                                            headers={"Idempotency-Key": key}, timeout=10)
                except requests.RequestException as exc:
                    self.statuses.append(type(exc).__name__)
                    time.sleep(0.2)
                    continue
                self.statuses.append(response.status_code)
                if response.status_code in (200, 201):
                    self.folios[key].append(response.json()["folio"])
                    # A client that lost the answer asks again: the same ticket comes back.
                    if random.random() < 0.3:
                        again = session.post(f"{self.url}/api/v1/tickets/", json=body,
                                             headers={"Idempotency-Key": key}, timeout=10)
                        if again.status_code == 200:
                            self.folios[key].append(again.json()["folio"])
                    break
                retry_later = (response.status_code == 503
                               and response.headers.get("Retry-After")
                               and response.headers.get("Content-Type", "").startswith(
                                   "application/json"))
                if not retry_later:  # a 500, a 4xx, a 503 without its instructions
                    self.bad.append(f"{response.status_code}: {response.text[:300]}")
                time.sleep(0.2)


def test_intake_through_database_restarts_gives_one_ticket_per_key(cluster, tmp_path):
    server, folder, setup = cluster
    smtp = SmtpServer()
    smtp.start()
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = child_env(folder, server, SITE_URL=url, EMAIL_HOST="127.0.0.1",
                    EMAIL_PORT=str(smtp.port), OUTBOX_CLAIM_TIMEOUT_SECONDS="5",
                    OUTBOX_REPLAY_GRACE_SECONDS="3")
    try:
        with running(gunicorn_command(port), env, tmp_path / "web.log") as web, \
                running(worker_command(), env, tmp_path / "worker.log") as worker:
            wait_for_port(port, process=web, attempts=600)
            deadline = time.monotonic() + DEADLINE
            stop = threading.Event()
            clients = [Client(url, setup, number, deadline, stop)
                       for number in range(CLIENTS)]
            for client in clients:
                client.start()
            # Restart twice at random moments of the intake: fast (sessions terminated,
            # transactions rolled back) and immediate (as after a crash), each time down
            # for a second so that requests arrive while nothing answers.
            for mode in ("fast", "immediate"):
                done = sum(len(client.folios) for client in clients)
                wait_until(lambda done=done: sum(len(c.folios) for c in clients) > done, 20,
                           lambda: (tmp_path / "web.log").read_text(errors="replace"))
                time.sleep(random.uniform(0, 0.5))
                server.stop_server(mode)
                time.sleep(1)
                server.start_server()
            stop.set()
            for client in clients:
                client.join(timeout=max(1, deadline - time.monotonic() + 5))
            log = (tmp_path / "web.log").read_text(errors="replace")
            assert all(not client.is_alive() for client in clients), log[-3000:]

            statuses = [status for client in clients for status in client.statuses]
            assert [bad for client in clients for bad in client.bad] == [], log[-3000:]
            assert 500 not in statuses
            assert any(status != 201 and status != 200 for status in statuses), (
                "no request noticed the restarts: the fault was not injected")
            folios = {key: found for client in clients for key, found in client.folios.items()}
            started = {key for client in clients for key in client.keys}
            assert set(folios) == started  # every key a client started succeeded
            for found in folios.values():
                assert len(set(found)) == 1  # the same folio on every success of a key
            stored = tickets_by_subject(server)
            for key, found in folios.items():
                assert stored[f"faults {key}"] == [found[0]]  # exactly one ticket per key
            assert len({found[0] for found in folios.values()}) == len(folios)

            # No connection was left broken by the restarts: every thread of every
            # gunicorn worker answers at once.
            def first_try(_n):
                return requests.get(f"{url}/api/v1/tickets/", timeout=10, headers={
                    "Authorization": f"Api-Key {setup['key']}"}).status_code

            with threading_pool(16) as pool:
                assert list(pool.map(first_try, range(32))) == [200] * 32

            # The worker lived through it and every acknowledgement left exactly once.
            wait_until(lambda: len(smtp.messages) >= len(folios), 90,
                       lambda: f"{len(smtp.messages)} e-mails, outbox {outbox(server)}\n"
                       + (tmp_path / "worker.log").read_text(errors="replace")[-3000:])
            time.sleep(2)  # a few more replay rounds: nothing goes twice
            ids = [message["Message-ID"] for message in smtp.messages]
            assert len(ids) == len(set(ids)) == len(folios)
            assert worker.poll() is None, (tmp_path / "worker.log").read_text()[-4000:]
    finally:
        smtp.stop()


def test_worker_survives_a_database_outage(cluster, tmp_path):
    server, folder, _setup = cluster
    smtp = SmtpServer()
    smtp.start()
    env = child_env(folder, server, EMAIL_HOST="127.0.0.1", EMAIL_PORT=str(smtp.port))
    try:
        with running(worker_command(), env, tmp_path / "worker.log") as worker:
            log = tmp_path / "worker.log"
            wait_until(lambda: "db_worker started" in log.read_text(errors="replace"), 30,
                       lambda: log.read_text(errors="replace"))
            time.sleep(2)  # db_worker is polling the queue
            server.stop_server("fast")
            time.sleep(4)  # down long enough for db_worker to fail and be restarted
            assert worker.poll() is None, log.read_text(errors="replace")[-4000:]
            server.start_server()
            # A message written after the outage is delivered by the same worker.
            subprocess.run(
                [sys.executable, "-m", "ventanilla", "shell", "-c",
                 "from django.db import transaction\n"
                 "from ventanilla.notifications.services import outbox_enqueue_email\n"
                 "with transaction.atomic():\n"
                 "    outbox_enqueue_email(dedupe_key='after-outage-" + uuid.uuid4().hex
                 + "', recipient='pedro@example.cl', template='account_verify', "
                 "context={'user': None, 'verify_path': '/x/'})\n"],
                env=env, check=True, capture_output=True, timeout=120)
            wait_until(lambda: len(smtp.messages) == 1, 40,
                       lambda: log.read_text(errors="replace")[-4000:])
            output = log.read_text(errors="replace")
            assert "db_worker exited" in output and "restarting it" in output
            assert worker.poll() is None
    finally:
        smtp.stop()


@contextlib.contextmanager
def threading_pool(size: int):
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(size) as pool:
        yield pool


def wait_until(condition, timeout: float, describe) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    pytest.fail(describe())
