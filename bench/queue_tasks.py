"""The task bench/bench_queue.py times the queue with: it does nothing, so what is measured
is the queue's own cost (claim, bookkeeping, result). Imported by the worker processes as
``bench.queue_tasks`` (they run from the repository root)."""

from django_tasks import task


@task(queue_name="default")
def noop() -> None:
    return None
