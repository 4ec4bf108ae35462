"""Two workers on one queue run every task exactly once (issue 7: the multi-worker claim).

Real ``python -m ventanilla worker`` processes (the command ``serve`` starts) against the
test database (PostgreSQL or the SQLite test file) and, for the Redis-backed queue, against
a redis-server the test starts on a free port. Each task appends its number, its task id and
the pid of the process that ran it to a file (``O_APPEND``: whole lines, even from two
processes), so a task run twice or never shows up there whatever the queue says about it.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import connection, transaction
from django.utils import timezone
from django_tasks import TaskContext, task

from tests.processes import process_env

ROOT = Path(__file__).resolve().parents[2]
RUNS_FILE = "VENTANILLA_TEST_QUEUE_RUNS"
TASKS = 300
FINISH_TIMEOUT = 90  # seconds for every task to be recorded
START_TIMEOUT = 60
STOP_TIMEOUT = 40


@task(queue_name="default", takes_context=True)
def record_run(context: TaskContext, number: int) -> int:
    """Runs in the worker processes: one line per run, then a little work so the tasks
    overlap and both workers claim some."""
    line = f"{number} {context.task_result.id} {os.getpid()}\n".encode()
    descriptor = os.open(os.environ[RUNS_FILE], os.O_WRONLY | os.O_APPEND | os.O_CREAT)
    try:
        os.write(descriptor, line)
    finally:
        os.close(descriptor)
    time.sleep(0.01)
    return number


def worker_database_url() -> str:
    """The URL of the database this test runs on, for the worker processes."""
    config = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{config['NAME']}"
    user = config.get("USER") or ""
    password = f":{config['PASSWORD']}" if config.get("PASSWORD") else ""
    credentials = f"{user}{password}@" if user else ""
    host = config.get("HOST") or "127.0.0.1"
    port = f":{config['PORT']}" if config.get("PORT") else ""
    return f"postgresql://{credentials}{host}{port}/{config['NAME']}"


class Workers:
    """``ventanilla worker`` processes, each leading its own process group."""

    def __init__(self, tmp: Path, **env: str) -> None:
        self.tmp = tmp
        self.env = process_env(tmp, DATABASE_URL=worker_database_url(), LOG_LEVEL="INFO", **env)
        self.processes: list[tuple[subprocess.Popen, Path]] = []

    def start(self, *args: str) -> None:
        log_path = self.tmp / f"worker-{len(self.processes)}.log"
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "ventanilla", "worker", "--replay-every", "0",
                 "--sweep-every", "0", "--rollup-every", "0", "--prune-every", "0", *args],
                env=self.env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.processes.append((process, log_path))

    @property
    def output(self) -> str:
        return "\n".join(path.read_text(errors="replace") for _p, path in self.processes)

    def wait_for_log(self, text: str, count: int) -> None:
        """Until ``text`` appears ``count`` times in the logs (the task processes are up)."""
        deadline = time.monotonic() + START_TIMEOUT
        while self.output.count(text) < count:
            for process, _path in self.processes:
                assert process.poll() is None, f"a worker exited early:\n{self.output}"
            assert time.monotonic() < deadline, f"workers did not start:\n{self.output}"
            time.sleep(0.2)

    def stop(self) -> None:
        for process, _path in self.processes:
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(signal.SIGTERM)
        for process, _path in self.processes:
            try:
                process.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                pytest.fail(f"a worker did not stop on SIGTERM:\n{self.output}")

    def kill(self) -> None:
        for process, _path in self.processes:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=10)


@pytest.fixture
def workers(tmp_path):
    started: list[Workers] = []

    def make(**env: str) -> Workers:
        group = Workers(tmp_path, **env)
        started.append(group)
        return group

    yield make
    for group in started:
        group.kill()


def read_runs(path: Path) -> list[tuple[int, str, int]]:
    if not path.exists():
        return []
    runs = []
    for line in path.read_text().splitlines():
        number, task_id, pid = line.split()
        runs.append((int(number), task_id, int(pid)))
    return runs


def wait_until_recorded(path: Path, count: int, group: Workers) -> None:
    deadline = time.monotonic() + FINISH_TIMEOUT
    while len({number for number, _id, _pid in read_runs(path)}) < count:
        assert time.monotonic() < deadline, (
            f"{len(read_runs(path))} of {count} tasks recorded:\n{group.output}")
        time.sleep(0.2)


def assert_each_task_ran_once(path: Path, task_ids: set[str]) -> set[int]:
    """Every task exactly once (no number or id twice, none missing); returns the pids."""
    runs = read_runs(path)
    numbers = sorted(number for number, _id, _pid in runs)
    assert numbers == list(range(TASKS)), "a task ran twice or never"
    assert sorted(task_id for _n, task_id, _pid in runs) == sorted(task_ids)
    return {pid for _n, _id, pid in runs}


def enqueue_all() -> set[str]:
    """Every task in one transaction, so both workers find the whole batch at once."""
    with transaction.atomic():
        return {record_run.enqueue(number).id for number in range(TASKS)}


# --- the database queue (PostgreSQL and SQLite) ------------------------------------------------

@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_workers_on_the_database_queue_run_every_task_exactly_once(
        tmp_path, settings, workers):
    from django_tasks_db.models import DBTaskResult

    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend",
                                  "QUEUES": ["default", "notifications"]}}
    runs = tmp_path / "runs.txt"
    group = workers(TASKS_BACKEND="database", **{RUNS_FILE: str(runs)})
    group.start()  # two machines, each with its own worker and task process
    group.start()
    group.wait_for_log("Starting worker", 2)  # both db_worker processes are polling

    task_ids = enqueue_all()
    wait_until_recorded(runs, TASKS, group)
    group.stop()  # a late duplicate would land before the workers exit

    pids = assert_each_task_ran_once(runs, task_ids)
    rows = list(DBTaskResult.objects.filter(task_path=record_run.module_path)
                .values_list("status", "worker_ids"))
    assert len(rows) == TASKS
    assert {status for status, _workers in rows} == {"SUCCESSFUL"}
    assert all(len(worker_ids) == 1 for _status, worker_ids in rows), "claimed twice"
    # Both workers really took part: each claimed some of the batch.
    assert len({worker_ids[0] for _status, worker_ids in rows}) == 2
    assert len(pids) == 2


# --- the Redis queue ----------------------------------------------------------------------------

@pytest.fixture
def redis_url(tmp_path):
    """A redis-server of our own on a free port (no persistence: it dies with the test)."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server is not installed (apt-get install redis-server)")
    import redis

    from tests.notifications.conftest import free_port

    port = free_port()
    server = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly",
         "no", "--dir", str(tmp_path)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"redis://127.0.0.1:{port}/0"
    client = redis.Redis.from_url(url)
    deadline = time.monotonic() + 20
    try:
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                assert time.monotonic() < deadline and server.poll() is None, "no redis"
                time.sleep(0.05)
        yield url
    finally:
        client.close()
        server.terminate()
        server.wait(timeout=10)


@pytest.fixture
def rq_settings(settings, redis_url):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_rq.RQBackend",
                                  "QUEUES": ["default", "notifications"]}}
    settings.RQ_QUEUES = {name: {"URL": redis_url, "DEFAULT_TIMEOUT": 300}
                          for name in ("default", "notifications")}
    return settings


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_rq_workers_run_every_task_exactly_once(tmp_path, rq_settings, redis_url,
                                                    workers):
    runs = tmp_path / "runs.txt"
    group = workers(TASKS_BACKEND="rq", REDIS_URL=redis_url, **{RUNS_FILE: str(runs)})
    group.start("--processes", "2")  # one worker command, two RQ task processes
    group.wait_for_log("Listening on", 2)

    task_ids = enqueue_all()
    wait_until_recorded(runs, TASKS, group)
    group.stop()

    pids = assert_each_task_ran_once(runs, task_ids)
    assert len(pids) == 2
    import django_rq

    queue = django_rq.get_queue("default")
    assert queue.count == 0
    assert queue.finished_job_registry.count == TASKS
    assert queue.failed_job_registry.count == 0


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_delivery_whose_redis_job_was_lost_is_replayed_and_sent_once(
        rq_settings, redis_url, smtp_server):
    """Redis restarted without persistence: the job is gone, the outbox row is not. The
    replay re-queues it in Redis, an RQ worker sends it, a second replay finds nothing."""
    import django_rq
    import redis

    from ventanilla.notifications.models import OutboundMessage, OutboundStatus
    from ventanilla.notifications.services import (
        REPLAY_GRACE,
        outbox_enqueue_email,
        outbox_replay,
    )
    from ventanilla.notifications.tasks import TaskWorker

    with transaction.atomic():
        message = outbox_enqueue_email(
            dedupe_key="rq-lost-1", recipient="juana@example.cl", template="account_verify",
            context={"user": None, "verify_path": "/cuenta/verificar/abc/"})
    queue = django_rq.get_queue("notifications")
    assert queue.count == 1  # the job went to Redis after the commit
    redis.Redis.from_url(redis_url).flushall()  # lost
    assert queue.count == 0

    OutboundMessage.objects.filter(pk=message.pk).update(
        next_attempt_at=timezone.now() - REPLAY_GRACE - timedelta(seconds=1))
    assert outbox_replay() == 1
    assert queue.count == 1

    handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        worker = django_rq.get_worker("notifications")  # as rqworker builds it (settings.RQ)
        assert isinstance(worker, TaskWorker)
        worker.work(burst=True)  # in this process: runs the job, then returns
    finally:
        for sig, handler in handlers.items():
            signal.signal(sig, handler)

    message.refresh_from_db()
    assert message.status == OutboundStatus.SENT
    assert message.attempts == 1
    assert [m["To"] for m in smtp_server.messages] == ["juana@example.cl"]
    assert outbox_replay() == 0  # sent: nothing left to re-queue
