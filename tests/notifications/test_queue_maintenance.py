"""What ``ventanilla worker`` starts for each task backend, and the upkeep of the database
queue it runs: pruning of finished task rows and the planner statistics of the queue table."""

from __future__ import annotations

import sys
import uuid
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from ventanilla.notifications.management.commands import worker as worker_module

DATABASE = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend",
                        "QUEUES": ["default", "notifications"]}}
REDIS = {"default": {"BACKEND": "django_tasks_rq.RQBackend",
                     "QUEUES": ["default", "notifications"]}}
IMMEDIATE = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend",
                         "QUEUES": ["default", "notifications"]}}


def test_the_database_backend_runs_db_worker_on_every_queue(settings):
    settings.TASKS = DATABASE
    assert worker_module.task_worker_command() == [
        sys.executable, "-m", "ventanilla", "db_worker", "--queue-name",
        "default,notifications", "--no-reload"]


def test_the_redis_backend_runs_rq_workers_with_the_scheduler(settings):
    settings.TASKS = REDIS
    # Queues in TASKS order; the scheduler releases deferred retries when they are due.
    assert worker_module.task_worker_command() == [
        sys.executable, "-m", "ventanilla", "rqworker", "default", "notifications",
        "--with-scheduler"]


def test_inline_backends_need_no_task_process(settings):
    settings.TASKS = IMMEDIATE
    assert worker_module.task_worker_command() is None


def test_database_queue_upkeep_is_scheduled_only_with_the_database_backend(settings):
    settings.IMAP_HOST = ""
    settings.TASKS = DATABASE
    names = [job.name for job in worker_module.default_jobs(
        replay_every=60, sweep_every=0, prune_every=3600)]
    assert names == ["outbox_replay", "queue_statistics", "prune_task_results"]
    names = [job.name for job in worker_module.default_jobs(
        replay_every=60, sweep_every=0, prune_every=0)]
    assert names == ["outbox_replay", "queue_statistics"]
    settings.TASKS = REDIS
    names = [job.name for job in worker_module.default_jobs(
        replay_every=60, sweep_every=0, prune_every=3600)]
    assert names == ["outbox_replay"]  # Redis expires its own results


@pytest.mark.parametrize("processes", ["0", "-1"])
def test_at_least_one_task_process(processes):
    from django.core.management import CommandError, call_command

    with pytest.raises(CommandError, match="--processes"):
        call_command("worker", "--processes", processes)


def task_row(status: str, *, finished_days_ago: float | None = None, save: bool = True):
    from django_tasks_db.models import DBTaskResult, get_date_max

    finished_at = (timezone.now() - timedelta(days=finished_days_ago)
                   if finished_days_ago is not None else None)
    row = DBTaskResult(
        id=uuid.uuid4(), status=status, args_kwargs={"args": [], "kwargs": {}},
        task_path="ventanilla.notifications.tasks.deliver_outbound_message",
        queue_name="notifications", backend_name="default", run_after=get_date_max(),
        finished_at=finished_at)
    if save:
        row.save()
    return row


@pytest.mark.django_db
def test_pruning_deletes_only_finished_rows_older_than_the_retention(settings):
    from django_tasks_db.models import DBTaskResult

    settings.TASKS = DATABASE
    settings.TASK_RESULT_RETENTION_DAYS = 7
    old_success = task_row("SUCCESSFUL", finished_days_ago=30)
    old_failure = task_row("FAILED", finished_days_ago=8)
    recent = task_row("SUCCESSFUL", finished_days_ago=1)
    waiting = task_row("READY")
    running = task_row("RUNNING")

    worker_module._prune_task_results()

    left = set(DBTaskResult.objects.values_list("pk", flat=True))
    assert left == {recent.pk, waiting.pk, running.pk}
    assert old_success.pk not in left and old_failure.pk not in left


@pytest.mark.django_db
def test_queue_statistics_make_the_claim_walk_the_index(settings):
    """With rows and planner statistics the claim query reads the claim index in order and
    stops at the first task: no sort of the waiting tasks, whatever their number."""
    from django.db import transaction
    from django_tasks_db.models import DBTaskResult

    DBTaskResult.objects.bulk_create([task_row("READY", save=False) for _ in range(5000)])
    first = worker_module._queue_statistics()
    second = worker_module._queue_statistics()
    if connection.vendor != "postgresql":
        assert first is None and second is None  # SQLite keeps no planner statistics
        return
    assert second is None  # statistics are there now: nothing more to do
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_stats WHERE tablename = %s",
                       [DBTaskResult._meta.db_table])
        assert cursor.fetchone()[0] > 0
    claim = (DBTaskResult.objects.ready().filter(backend_name="default")
             .filter(queue_name__in=["default", "notifications"])
             .select_for_update(skip_locked=True).order_by(*DBTaskResult._meta.ordering)[:1])
    with transaction.atomic():
        plan = claim.explain()
    assert "Index Scan using tasks_db_new_ordering_idx" in plan
    assert "Sort" not in plan
