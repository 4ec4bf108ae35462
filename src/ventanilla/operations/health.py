"""The checks behind ``/healthz`` and the uptime probe. Each is cheap (an index lookup, a
``SELECT 1``, a Redis ping) and never raises: a failure is a result naming the exception's
class, never its message or stack (they may hold host names or credentials).

Two severities:
- **fail** (the database, the queue unreachable): the service cannot take requests;
  ``/healthz`` answers 503 and the probe records an outage.
- **degraded** (the worker's last probe too old, the next task waiting too long): the web
  still serves people; ``/healthz`` answers 200 with ``"status": "degraded"`` (503 with
  ``?strict=1``, for monitors that only read the status code). Taking every web node out of a
  load balancer because the background worker stopped would turn a partial outage into a
  full one.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from ventanilla.operations.models import Check

logger = logging.getLogger("ventanilla.health")

OK, DEGRADED, FAIL = "ok", "degraded", "fail"
DATABASE_BACKEND = "django_tasks_db.DatabaseBackend"
RQ_BACKEND = "django_tasks_rq.RQBackend"


def _failure(check: str, exc: BaseException) -> dict:
    logger.warning("health: %s check failed", check, exc_info=exc)
    return {"status": FAIL, "error": type(exc).__name__}


def check_database() -> dict:
    started = time.monotonic()
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                timeout_ms = int(settings.HEALTH_DATABASE_TIMEOUT_MS)
                cursor.execute(f"SET LOCAL statement_timeout = {timeout_ms}")
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # any driver error means "not usable"
        return _failure(Check.DATABASE, exc)
    return {"status": OK, "ms": round((time.monotonic() - started) * 1000, 1)}


def _tasks_backend() -> str:
    return settings.TASKS["default"]["BACKEND"]


def check_queue(*, now: datetime | None = None) -> dict:
    backend = _tasks_backend()
    try:
        if backend == DATABASE_BACKEND:
            return _database_queue(now or timezone.now())
        if backend == RQ_BACKEND:
            return _redis_queue()
    except Exception as exc:
        return _failure(Check.QUEUE, exc)
    # immediate / dummy: tasks run inline, there is no queue to lose.
    return {"status": OK, "backend": backend.rsplit(".", 1)[-1]}


def _database_queue(now: datetime) -> dict:
    from django_tasks_db.models import DBTaskResult

    # The task a worker would claim next, through the claim index (no COUNT on the table).
    oldest = DBTaskResult.objects.ready().values_list("enqueued_at", "run_after").first()
    result = {"status": OK, "backend": "database", "next_task_wait_s": 0}
    if oldest is not None:
        enqueued_at, run_after = oldest
        waiting_since = max(enqueued_at, run_after) if run_after <= now else enqueued_at
        wait = max(0, int((now - waiting_since).total_seconds()))
        result["next_task_wait_s"] = wait
        if wait > settings.HEALTH_QUEUE_MAX_AGE:
            result["status"] = DEGRADED
    return result


def _redis_queue() -> dict:
    import django_rq

    queues = [django_rq.get_queue(name) for name in settings.TASK_QUEUES]
    queues[0].connection.ping()
    return {"status": OK, "backend": "rq", "lengths": {q.name: q.count for q in queues}}


def check_worker(*, now: datetime | None = None) -> dict:
    from ventanilla.operations.selectors import last_probe_at

    try:
        last = last_probe_at()
    except Exception as exc:
        return _failure(Check.WORKER, exc)
    if last is None:
        return {"status": DEGRADED, "last_probe_age_s": None}
    age = max(0, int(((now or timezone.now()) - last).total_seconds()))
    status = OK if age <= settings.HEALTH_WORKER_MAX_AGE else DEGRADED
    return {"status": status, "last_probe_age_s": age}


def health_report(*, include_worker: bool = True) -> dict:
    """``{"status": ok|degraded|fail, "checks": {...}, "failing": [...]}``."""
    database, queue, worker = Check.DATABASE.value, Check.QUEUE.value, Check.WORKER.value
    checks = {database: check_database()}
    database_down = checks[database]["status"] == FAIL
    # Without a database the queue table cannot answer either; say so once, not twice.
    if database_down and _tasks_backend() == DATABASE_BACKEND:
        checks[queue] = {"status": FAIL, "error": "database unavailable"}
    else:
        checks[queue] = check_queue()
    if include_worker:
        checks[worker] = ({"status": DEGRADED, "last_probe_age_s": None} if database_down
                          else check_worker())
    failing = [name for name, result in checks.items() if result["status"] == FAIL]
    degraded = [name for name, result in checks.items() if result["status"] == DEGRADED]
    status = FAIL if failing else DEGRADED if degraded else OK
    return {"status": status, "checks": checks, "failing": failing, "degraded": degraded}
