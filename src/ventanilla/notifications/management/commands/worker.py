"""``python -m ventanilla worker`` (or ``ventanilla worker``): everything in the background.

- starts the task processes for every queue in ``TASKS`` as children, ``--processes`` of
  them (default ``WORKER_PROCESSES``, 1): django-tasks' database worker (``db_worker``)
  with the database backend, RQ workers (``rqworker``, with the scheduler that releases
  deferred retries) with ``TASKS_BACKEND=rq``; none with other backends (they run their
  jobs inline). Each task process claims one task at a time; two processes, or two
  machines, never run the same task (tests/notifications/test_queue_workers.py);
- runs the periodic jobs in this process: the outbox replay (every 60 s), the SLA sweep
  (every 300 s, ``ventanilla.sla.services.sla_sweep`` when it exists), the dashboard
  rollup refresh (every 60 s, ``reports.services.rollup_refresh``), with the database
  backend the pruning of finished task rows older than ``TASK_RESULT_RETENTION_DAYS``
  (every hour, django_tasks_db's ``prune_db_task_results``: without it the queue table
  keeps every task ever run) and, when an IMAP mailbox is configured (``IMAP_HOST``), the
  e-mail poller (every ``FETCH_MAIL_EVERY`` s), the uptime probe (every
  ``UPTIME_PROBE_EVERY`` s, ``operations.services.uptime_probe``) and the retention rules
  (``citizens`` retention, daily) and the sweep of orphan files
  (``operations.services.storage_orphans_sweep``, daily). A job that raises is logged and tried
  again at its next turn: one failing job never stops the worker;
- on SIGTERM sends SIGTERM to the children (once: a second signal makes them abort the
  task they are running), waits for them and exits 0; on SIGINT (Ctrl+C, which the
  terminal sends to the whole process group, children included) it waits for them first.
  A child that dies on its own (``db_worker`` exits on the first database error it
  meets outside a task: a PostgreSQL restart, a failover, a network cut) is started again,
  after a pause that doubles while it keeps dying young (1 s up to 30 s): a database
  outage never stops the worker, and ``serve``, which stops everything when a child ends,
  keeps the web up too. The periodic jobs survive such errors by themselves.

``db_worker``, ``rqworker`` and ``outbox_replay --every`` remain available for
installations that run them as separate services.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import importlib
import logging
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import close_old_connections, connections

logger = logging.getLogger("ventanilla.worker")

DATABASE_WORKER_BACKEND = "django_tasks_db.DatabaseBackend"
RQ_WORKER_BACKEND = "django_tasks_rq.RQBackend"
PRUNE_EVERY = 3600  # seconds between prunings of finished task rows (database backend)
STATISTICS_EVERY = 30  # seconds between checks that the queue table has planner statistics
CHILD_STOP_TIMEOUT = 20  # seconds; then the child is killed
POLL = 0.5  # seconds between checks of the child while waiting for the next job
RESTART_PAUSE = 1.0  # seconds before restarting a task process that died; doubles while
RESTART_PAUSE_MAX = 30.0  # it keeps dying within YOUNG seconds of its start, up to this
YOUNG = 60.0


def _outbox_replay() -> object:
    from ventanilla.notifications.services import outbox_replay

    return outbox_replay()


def _sla_sweep() -> object:
    """The SLA sweep, looked up at call time (the sla app may not provide it yet)."""
    try:
        services = importlib.import_module("ventanilla.sla.services")
    except ImportError:
        return None
    sweep = getattr(services, "sla_sweep", None)
    if sweep is None:
        return None
    return sweep(now=None)


def _rollup_refresh() -> object:
    from ventanilla.reports.services import rollup_refresh

    return rollup_refresh()


def _prune_task_results() -> object:
    from django.core.management import call_command

    # The command logs how many rows it deleted ("Deleted N task result(s)").
    call_command("prune_db_task_results", queue_name="*",
                 min_age_days=settings.TASK_RESULT_RETENTION_DAYS, verbosity=1)
    return None


def _queue_statistics() -> object:
    """ANALYZE the database queue's table when it holds tasks but PostgreSQL has no
    statistics for it (a new installation, a restored dump, an autovacuum busy elsewhere).

    Without them the planner guesses that ``backend_name`` and ``queue_name`` are selective
    (they hold one or two values) and claims each task by reading and sorting every waiting
    one: 176 ms per claim with 100,000 waiting, 6 tasks/s where the same worker does 97
    once the table is analyzed. With any statistics it walks the claim index and stops at
    the first free task (0.1-0.5 ms, whatever the backlog). Autovacuum would analyze the
    table too, but only when it gets to it. Two catalogue reads when there is nothing to do.
    """
    from django.db import connection
    from django_tasks_db.models import DBTaskResult

    if connection.vendor != "postgresql":
        return None
    table = DBTaskResult._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT EXISTS (SELECT 1 FROM pg_stats WHERE schemaname = current_schema() "
            "AND tablename = %s)", [table])
        if cursor.fetchone()[0]:
            return None
        if not DBTaskResult.objects.exists():
            return None  # an empty table yields no statistics either: wait for rows
        cursor.execute(f'ANALYZE "{table}"')
    return "analyzed the task queue table (it had no planner statistics)"


def _uptime_probe() -> object:
    from ventanilla.operations.services import uptime_probe

    return uptime_probe()


def _apply_retention() -> object:
    from ventanilla.accounts.services import login_records_prune
    from ventanilla.citizens.privacy import retention_apply
    from ventanilla.core.services import audit_prune

    counts = {
        "ticket(s) anonymised": retention_apply().tickets,
        "audit event(s) past AUDIT_RETENTION_YEARS deleted": audit_prune(),
        "login record(s) past LOGIN_RECORDS_RETENTION_DAYS deleted": login_records_prune(),
    }
    done = [f"{count} {what}" for what, count in counts.items() if count]
    return "retention: " + "; ".join(done) if done else None


def _storage_sweep() -> object:
    from ventanilla.operations.services import storage_orphans_sweep

    removed = storage_orphans_sweep()
    return f"storage sweep: {len(removed)} orphan file(s) deleted" if removed else None


def _fetch_mail() -> object:
    from ventanilla.channels.email_imap import fetch_mail_once

    return fetch_mail_once()


@dataclass
class PeriodicJob:
    name: str
    every: float
    run: Callable[[], object]
    next_at: float = field(default=0.0)

    def run_safely(self) -> bool:
        """Run once; log and swallow any exception. Returns whether it succeeded."""
        close_old_connections()
        try:
            result = self.run()
        except Exception:
            logger.exception("worker: periodic job %s failed; retrying in %s s",
                             self.name, self.every)
            return False
        finally:
            close_old_connections()
        if result:
            logger.info("worker: %s: %s", self.name, result)
        return True


def _die_with_parent() -> None:  # pragma: no cover - runs in the child before exec
    """Linux: the task process gets SIGTERM when the worker dies, even by SIGKILL, so a
    killed worker never leaves task processes behind to claim tasks unsupervised (they
    finish the task in hand and exit, as on any SIGTERM)."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        pass  # not Linux: the worker's own shutdown still stops its children


PR_SET_PDEATHSIG = 1


def _start_task_process(command: list[str]) -> subprocess.Popen:
    return subprocess.Popen(command, preexec_fn=_die_with_parent)  # noqa: S603


def run_due_jobs(jobs: list[PeriodicJob], now: float) -> list[str]:
    """Run every job that is due at ``now`` (monotonic seconds); returns their names."""
    ran = []
    for job in jobs:
        if job.next_at <= now:
            job.run_safely()
            job.next_at = now + job.every
            ran.append(job.name)
    return ran


def default_jobs(*, replay_every: float, sweep_every: float,
                 rollup_every: float = 0, prune_every: float = 0) -> list[PeriodicJob]:
    jobs = []
    if replay_every > 0:
        jobs.append(PeriodicJob("outbox_replay", replay_every, _outbox_replay))
    if sweep_every > 0:
        jobs.append(PeriodicJob("sla_sweep", sweep_every, _sla_sweep))
    if rollup_every > 0:
        jobs.append(PeriodicJob("rollup_refresh", rollup_every, _rollup_refresh))
    if tasks_backend() == DATABASE_WORKER_BACKEND:
        jobs.append(PeriodicJob("queue_statistics", STATISTICS_EVERY, _queue_statistics))
        if prune_every > 0:
            jobs.append(PeriodicJob("prune_task_results", prune_every, _prune_task_results))
    if settings.RETENTION_EVERY > 0:  # personal data past its retention rule (daily)
        jobs.append(PeriodicJob("apply_retention", settings.RETENTION_EVERY, _apply_retention))
    if settings.STORAGE_SWEEP_EVERY > 0:  # files no row points to (daily)
        jobs.append(PeriodicJob("storage_sweep", settings.STORAGE_SWEEP_EVERY, _storage_sweep))
    # The IMAP poller, when the institution reads an existing mailbox (IMAP_HOST set).
    if settings.IMAP_HOST and settings.FETCH_MAIL_EVERY > 0:
        jobs.append(PeriodicJob("fetch_mail", settings.FETCH_MAIL_EVERY, _fetch_mail))
    # The uptime record behind /healthz's heartbeat and the availability report; the first
    # probe waits one interval (``serve`` starts the web at the same moment).
    if settings.UPTIME_PROBE_EVERY > 0:
        jobs.append(PeriodicJob("uptime_probe", settings.UPTIME_PROBE_EVERY, _uptime_probe,
                                next_at=time.monotonic() + settings.UPTIME_PROBE_EVERY))
    return jobs


def tasks_backend() -> str:
    return settings.TASKS["default"]["BACKEND"]


def task_queues() -> list[str]:
    return list(settings.TASKS["default"].get("QUEUES") or ["default"])


def task_worker_command() -> list[str] | None:
    """The command line of one task process for the configured backend, or None when the
    backend needs none (immediate, dummy)."""
    backend = tasks_backend()
    if backend == DATABASE_WORKER_BACKEND:
        return [sys.executable, "-m", "ventanilla", "db_worker",
                "--queue-name", ",".join(task_queues()), "--no-reload"]
    if backend == RQ_WORKER_BACKEND:
        # Queues in TASKS order (RQ drains the first non-empty one first). The scheduler
        # moves deferred jobs (delivery retries) to their queue when due; RQ keeps one
        # scheduler active among all the workers.
        return [sys.executable, "-m", "ventanilla", "rqworker", *task_queues(),
                "--with-scheduler"]
    return None


class Command(BaseCommand):
    help = ("Run the task processes (db_worker or rqworker) and the periodic jobs (outbox "
            "replay, SLA sweep, rollups, task-row pruning).")

    def add_arguments(self, parser):
        parser.add_argument("--replay-every", type=float, default=60, metavar="SECONDS",
                            help="Seconds between outbox replays (default 60; 0 = never).")
        parser.add_argument("--sweep-every", type=float, default=300, metavar="SECONDS",
                            help="Seconds between SLA sweeps (default 300; 0 = never).")
        parser.add_argument("--rollup-every", type=float, default=60, metavar="SECONDS",
                            help="Seconds between dashboard rollup refreshes (default 60; "
                                 "0 = never).")
        parser.add_argument("--prune-every", type=float, default=PRUNE_EVERY,
                            metavar="SECONDS",
                            help="Seconds between prunings of finished task rows (database "
                                 "backend; default 3600; 0 = never).")
        parser.add_argument("--processes", type=int, default=None,
                            help="Task processes to start (default: $WORKER_PROCESSES or 1).")
        parser.add_argument("--no-tasks", action="store_true",
                            help="Start no task process; run only the periodic jobs.")

    def handle(self, *args, replay_every: float, sweep_every: float, no_tasks: bool,
               rollup_every: float = 60, prune_every: float = PRUNE_EVERY,
               processes: int | None = None, **options):
        if min(replay_every, sweep_every, rollup_every, prune_every) < 0:
            raise CommandError("--replay-every, --sweep-every, --rollup-every and "
                               "--prune-every must be zero or positive.")
        processes = settings.WORKER_PROCESSES if processes is None else processes
        if processes < 1:
            raise CommandError("--processes (or WORKER_PROCESSES) must be 1 or more.")
        stop = threading.Event()
        received: list[int] = []

        def request_stop(signum, frame):
            received.append(signum)
            stop.set()

        previous = {sig: signal.signal(sig, request_stop)
                    for sig in (signal.SIGTERM, signal.SIGINT)}
        command = None if no_tasks else task_worker_command()
        children: list[subprocess.Popen] = []
        exit_code = 0
        started: list[float] = [time.monotonic()] * processes  # per task process slot
        failures: list[int] = [0] * processes  # deaths in a row, each while young
        try:
            if command is not None:
                for conn in connections.all():
                    conn.close()  # the children open their own
                for _ in range(processes):
                    children.append(_start_task_process(command))
                logger.info("worker: %s started (pids %s, queues %s)", command[3],
                            ", ".join(str(child.pid) for child in children),
                            ",".join(task_queues()))
            else:
                logger.info("worker: tasks backend %s: no task process started",
                            tasks_backend())
            jobs = default_jobs(replay_every=replay_every, sweep_every=sweep_every,
                                rollup_every=rollup_every, prune_every=prune_every)
            logger.info("worker: periodic jobs: %s", ", ".join(
                f"{job.name} every {job.every:g} s" for job in jobs) or "none")
            while not stop.is_set():
                run_due_jobs(jobs, time.monotonic())
                next_at = min((job.next_at for job in jobs), default=time.monotonic() + POLL)
                while not stop.is_set() and time.monotonic() < next_at:
                    for index, child in enumerate(children):
                        if child.poll() is None:
                            continue
                        if time.monotonic() - started[index] >= YOUNG:
                            failures[index] = 0  # it had been running fine
                        pause = min(RESTART_PAUSE * 2 ** failures[index], RESTART_PAUSE_MAX)
                        failures[index] += 1
                        logger.error("worker: %s exited (code %s); restarting it in %g s",
                                     command[3], child.returncode, pause)
                        self.stderr.write(f"{command[3]} exited with code {child.returncode}")
                        if stop.wait(pause):
                            break
                        children[index] = _start_task_process(command)
                        started[index] = time.monotonic()
                    stop.wait(min(POLL, max(0.0, next_at - time.monotonic())))
            if received:
                logger.info("worker: %s received, stopping", signal.Signals(received[0]).name)
        finally:
            # Ctrl+C in a terminal signals the whole process group: the children got their
            # own SIGINT and finish their current task. A second signal would make them
            # abort it, so after SIGINT give them time first.
            self._stop_children(children, wait_first=bool(received)
                                and received[0] == signal.SIGINT)
            close_old_connections()
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        logger.info("worker: stopped")
        if exit_code:
            raise SystemExit(exit_code)

    @staticmethod
    def _stop_children(children: list[subprocess.Popen], *, wait_first: bool = False) -> None:
        deadline = time.monotonic() + CHILD_STOP_TIMEOUT
        if wait_first:
            for child in children:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    child.wait(timeout=max(0.1, deadline - time.monotonic()))
        for child in children:
            if child.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    child.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + CHILD_STOP_TIMEOUT
        for child in children:
            try:
                child.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                logger.warning("worker: task process %s did not stop in %s s; killing it",
                               child.pid, CHILD_STOP_TIMEOUT)
                child.kill()
                child.wait()
