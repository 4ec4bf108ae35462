"""``python -m ventanilla worker`` (or ``ventanilla worker``): everything in the background.

- starts django-tasks' database worker (``db_worker``) for every queue in ``TASKS`` as a
  child process (only with the database backend: other backends run their jobs elsewhere);
- runs the periodic jobs in this process: the outbox replay (every 60 s), the SLA sweep
  (every 300 s, ``ventanilla.sla.services.sla_sweep`` when it exists), the dashboard
  rollup refresh (every 60 s, ``reports.services.rollup_refresh``) and, when an IMAP
  mailbox is configured (``IMAP_HOST``), the e-mail poller (every ``FETCH_MAIL_EVERY`` s).
  A job that raises is logged and tried again at its next turn: one failing job never
  stops the worker;
- on SIGTERM sends SIGTERM to the child (once: a second signal makes db_worker abort the
  task it is running), waits for it and exits 0; on SIGINT (Ctrl+C, which the terminal
  sends to the whole process group, child included) it waits for the child first. If the
  child dies on its own, it exits non-zero (so ``serve`` or a supervisor restarts the lot).

``db_worker`` and ``outbox_replay --every`` remain available for installations that run
them as separate services.
"""

from __future__ import annotations

import contextlib
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
CHILD_STOP_TIMEOUT = 20  # seconds; then the child is killed
POLL = 0.5  # seconds between checks of the child while waiting for the next job


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
                 rollup_every: float = 0) -> list[PeriodicJob]:
    jobs = []
    if replay_every > 0:
        jobs.append(PeriodicJob("outbox_replay", replay_every, _outbox_replay))
    if sweep_every > 0:
        jobs.append(PeriodicJob("sla_sweep", sweep_every, _sla_sweep))
    if rollup_every > 0:
        jobs.append(PeriodicJob("rollup_refresh", rollup_every, _rollup_refresh))
    # The IMAP poller, when the institution reads an existing mailbox (IMAP_HOST set).
    if settings.IMAP_HOST and settings.FETCH_MAIL_EVERY > 0:
        jobs.append(PeriodicJob("fetch_mail", settings.FETCH_MAIL_EVERY, _fetch_mail))
    return jobs


def db_worker_command() -> list[str] | None:
    """The db_worker command line, or None when the tasks backend is not the database."""
    config = settings.TASKS["default"]
    if config["BACKEND"] != DATABASE_WORKER_BACKEND:
        return None
    queues = ",".join(config.get("QUEUES") or ["default"])
    return [sys.executable, "-m", "ventanilla", "db_worker", "--queue-name", queues,
            "--no-reload"]


class Command(BaseCommand):
    help = "Run the task worker (db_worker) and the periodic jobs (outbox replay, SLA sweep)."

    def add_arguments(self, parser):
        parser.add_argument("--replay-every", type=float, default=60, metavar="SECONDS",
                            help="Seconds between outbox replays (default 60; 0 = never).")
        parser.add_argument("--sweep-every", type=float, default=300, metavar="SECONDS",
                            help="Seconds between SLA sweeps (default 300; 0 = never).")
        parser.add_argument("--rollup-every", type=float, default=60, metavar="SECONDS",
                            help="Seconds between dashboard rollup refreshes (default 60; "
                                 "0 = never).")
        parser.add_argument("--no-tasks", action="store_true",
                            help="Do not start db_worker; run only the periodic jobs.")

    def handle(self, *args, replay_every: float, sweep_every: float, no_tasks: bool,
               rollup_every: float = 60, **options):
        if replay_every < 0 or sweep_every < 0 or rollup_every < 0:
            raise CommandError("--replay-every, --sweep-every and --rollup-every must be zero "
                               "or positive.")
        stop = threading.Event()
        received: list[int] = []

        def request_stop(signum, frame):
            received.append(signum)
            stop.set()

        previous = {sig: signal.signal(sig, request_stop)
                    for sig in (signal.SIGTERM, signal.SIGINT)}
        command = None if no_tasks else db_worker_command()
        child: subprocess.Popen | None = None
        exit_code = 0
        try:
            if command is not None:
                for conn in connections.all():
                    conn.close()  # the child opens its own
                child = subprocess.Popen(command)  # noqa: S603 (our own interpreter)
                logger.info("worker: db_worker started (pid %s, queues %s)", child.pid,
                            command[command.index("--queue-name") + 1])
            else:
                logger.info("worker: tasks backend %s: no db_worker started",
                            settings.TASKS["default"]["BACKEND"])
            jobs = default_jobs(replay_every=replay_every, sweep_every=sweep_every,
                                rollup_every=rollup_every)
            logger.info("worker: periodic jobs: %s", ", ".join(
                f"{job.name} every {job.every:g} s" for job in jobs) or "none")
            while not stop.is_set():
                run_due_jobs(jobs, time.monotonic())
                next_at = min((job.next_at for job in jobs), default=time.monotonic() + POLL)
                while not stop.is_set() and time.monotonic() < next_at:
                    if child is not None and child.poll() is not None:
                        logger.error("worker: db_worker exited (code %s); stopping",
                                     child.returncode)
                        self.stderr.write(f"db_worker exited with code {child.returncode}")
                        exit_code = 1
                        stop.set()
                        break
                    stop.wait(min(POLL, max(0.0, next_at - time.monotonic())))
            if received:
                logger.info("worker: %s received, stopping", signal.Signals(received[0]).name)
        finally:
            if child is not None:
                # Ctrl+C in a terminal signals the whole process group: the child got its
                # own SIGINT and finishes its current task. A second signal would make
                # db_worker abort that task, so after SIGINT give it time first.
                self._stop_child(child, wait_first=bool(received)
                                 and received[0] == signal.SIGINT)
            close_old_connections()
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        logger.info("worker: stopped")
        if exit_code:
            raise SystemExit(exit_code)

    @staticmethod
    def _stop_child(child: subprocess.Popen, *, wait_first: bool = False) -> None:
        if wait_first:
            with contextlib.suppress(subprocess.TimeoutExpired):
                child.wait(timeout=CHILD_STOP_TIMEOUT)
        if child.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                child.send_signal(signal.SIGTERM)
        try:
            child.wait(timeout=CHILD_STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            logger.warning("worker: db_worker did not stop in %s s; killing it",
                           CHILD_STOP_TIMEOUT)
            child.kill()
            child.wait()
