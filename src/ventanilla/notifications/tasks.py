"""Worker tasks. They take ids, never objects. Plus the RQ worker class that runs them when
the queue is in Redis (TASKS_BACKEND=rq)."""

from django.db import close_old_connections
from django_tasks import task
from rq.worker import SimpleWorker

from ventanilla.notifications.services import outbox_deliver


@task(queue_name="notifications")
def deliver_outbound_message(message_id: int) -> str:
    return outbox_deliver(message_id=message_id)


class TaskWorker(SimpleWorker):
    """RQ's in-process worker with Django's connection hygiene around every job
    (settings ``RQ["WORKER_CLASS"]``).

    RQ's default worker forks a child per job: the fork of a Django process, then new
    Redis and database connections in the child, for every job. On the 2-core benchmark
    machine that was ~240 ms per no-op job against ~7 ms in process (about 30 times).
    Running the job in the worker process keeps one connection; closing it when it is broken
    or too old, as Django does around each request, keeps a database restart from failing
    every job after it. A job that kills the process takes the worker down with it:
    ``ventanilla worker`` then exits non-zero, its supervisor restarts it, and the outbox
    replay re-queues the message the job was sending.
    """

    def execute_job(self, job, queue):
        close_old_connections()
        try:
            return super().execute_job(job, queue)
        finally:
            close_old_connections()
