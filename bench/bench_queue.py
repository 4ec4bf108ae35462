"""Task queue under backlog: tasks per second processed by the real worker processes.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_queue .venv/bin/python \
        bench/bench_queue.py [--backlog 100000] [--workers 1,2] [--backends database,rq] \
        [--kinds noop,delivery] [--measure-noop 1000] [--measure-delivery 300]

For each queue backend (the database one, django_tasks_db on ``DATABASE_URL``; the Redis one,
django-tasks-rq on a redis-server this script starts on a free port with the production
persistence setting, AOF ``appendfsync everysec``), each task kind (``noop``: a task that
does nothing, the queue's own cost; ``delivery``: the real notification delivery, an outbox
row sent by e-mail to a local SMTP sink, a separate process so SMTP is not the bottleneck)
and each worker count, it starts ``python -m ventanilla worker --processes N`` (the command
``serve`` runs) and measures the rate twice in the same run: with an almost empty queue
(only the tasks measured are waiting) and with ``--backlog`` tasks waiting. The rate is taken
from the tasks' own finish times (``finished_at`` rows, RQ's ``ended_at``), over ``measure``
tasks after a warm-up of a tenth of that, so worker start-up is not counted. It also times
the sink alone (1 and 2 sending processes), EXPLAINs the database worker's claim query with
the backlog waiting, and reports the Redis memory the backlog takes.

JSON on stdout (``rates`` per backend/kind/workers/depth, ``backlog_over_empty`` ratios),
progress on stderr. Everything it creates is deleted at the end (the tasks and outbox rows it
made; the Redis server is its own and goes away). Without ``DATABASE_URL`` it runs on a
throw-away SQLite file. Not part of the test suite; no asserts (machines are noisy).
"""

from __future__ import annotations

import argparse
import contextlib
import multiprocessing
import os
import shutil
import signal
import smtplib
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
for _path in (str(ROOT / "src"), str(ROOT)):
    if _path not in sys.path:
        sys.path.insert(0, _path)

from bench.common import emit, environment, free_port, progress  # noqa: E402

NOOP_PATH = "bench.queue_tasks.noop"
DELIVERY_PATH = "ventanilla.notifications.tasks.deliver_outbound_message"
DEDUPE_PREFIX = "bench-queue-"
FILL_BATCH = 5000
RUN_TIMEOUT = 600  # seconds a single measurement may take before it is abandoned
WORKER_START_TIMEOUT = 120


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backlog", type=int, default=10_000,
                        help="Tasks waiting in the backlog case (default 10000; the issue's "
                             "figure is 100000).")
    parser.add_argument("--workers", default="1,2", help="Worker process counts (default 1,2).")
    parser.add_argument("--backends", default="database,rq")
    parser.add_argument("--kinds", default="noop,delivery")
    parser.add_argument("--measure-noop", type=int, default=1000,
                        help="No-op tasks timed per measurement (default 1000).")
    parser.add_argument("--measure-delivery", type=int, default=300,
                        help="Deliveries timed per measurement (default 300).")
    parser.add_argument("--sink-messages", type=int, default=1000,
                        help="Messages sent to the SMTP sink alone per measurement.")
    parser.add_argument("--keep-logs", action="store_true",
                        help="Leave the worker logs in the scratch folder (path on stderr).")
    return parser.parse_args()


# --- the SMTP sink: its own process, counting what it accepts --------------------------------

def _sink_main(port: int, counter, ready) -> None:
    import asyncio
    import logging

    from aiosmtpd.controller import Controller

    logging.getLogger("mail.log").setLevel(logging.WARNING)  # a line per SMTP command

    class Counting:
        async def handle_DATA(self, server, session, envelope):
            with counter.get_lock():
                counter.value += 1
            return "250 Message accepted for delivery"

    controller = Controller(Counting(), hostname="127.0.0.1", port=port)
    controller.start()
    ready.set()
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(asyncio.Event().wait())  # until terminated
    controller.stop()


class SmtpSink:
    def __init__(self) -> None:
        self.port = free_port()
        self.counter = multiprocessing.Value("q", 0)
        ready = multiprocessing.Event()
        self.process = multiprocessing.Process(target=_sink_main,
                                               args=(self.port, self.counter, ready),
                                               daemon=True)
        self.process.start()
        if not ready.wait(30):
            raise RuntimeError("the SMTP sink did not start")

    @property
    def received(self) -> int:
        return self.counter.value

    def stop(self) -> None:
        self.process.terminate()
        self.process.join(10)


def _send_many(port: int, count: int, body: str) -> None:
    # What Django's SMTP backend does per message: one connection, one message, QUIT.
    for n in range(count):
        message = EmailMessage()
        message["Subject"] = f"Mensaje {n}"
        message["From"] = "ventanilla@example.cl"
        message["To"] = "persona@example.cl"
        message.set_content(body)
        with smtplib.SMTP("127.0.0.1", port, timeout=20) as client:
            client.send_message(message)


def time_sink_alone(sink: SmtpSink, messages: int, senders: int, body: str) -> dict:
    per_sender = max(1, messages // senders)
    before = sink.received
    started = time.perf_counter()
    processes = [multiprocessing.Process(target=_send_many, args=(sink.port, per_sender, body))
                 for _ in range(senders)]
    for process in processes:
        process.start()
    for process in processes:
        process.join()
    elapsed = time.perf_counter() - started
    accepted = sink.received - before
    return {"senders": senders, "messages": accepted,
            "per_second": round(accepted / elapsed, 1) if elapsed else None}


# --- the Redis server: its own instance, production persistence ------------------------------

class RedisServer:
    def __init__(self, folder: Path) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise FileNotFoundError("redis-server")
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.persistence = {"appendonly": "yes", "appendfsync": "everysec", "save": ""}
        self.process = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(folder),
             "--appendonly", "yes", "--appendfsync", "everysec", "--save", ""],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        import redis

        self.client = redis.Redis.from_url(self.url)
        deadline = time.monotonic() + 20
        while True:
            try:
                self.client.ping()
                break
            except redis.ConnectionError:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    raise
                time.sleep(0.1)
        info = self.client.info("server")
        self.version = info.get("redis_version")

    def used_memory(self) -> int:
        return int(self.client.info("memory")["used_memory"])

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


# --- what goes into the queues ---------------------------------------------------------------

def message_text() -> tuple[str, str]:
    """A realistic acknowledgement e-mail (rendered from a real template, padded to the size
    of the longer ones)."""
    from ventanilla.notifications.rendering import render_message

    rendered = render_message(template="account_verify",
                              context={"user": None, "verify_path": "/cuenta/verificar/abc/"},
                              institution=None, ticket=None)
    padding = ("Su solicitud fue recibida y derivada al área que debe responderla. "
               "Puede seguirla con su folio en el portal. ") * 5
    return rendered.subject, rendered.body + "\n\n" + padding


class Payloads:
    """Creates the arguments of ``count`` new tasks of one kind: nothing for the no-op; for a
    delivery, a pending outbox row per task (bulk, as the outbox would have written them)."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.subject, self.body = message_text()

    @property
    def task_path(self) -> str:
        return NOOP_PATH if self.kind == "noop" else DELIVERY_PATH

    @property
    def queue_name(self) -> str:
        return "default" if self.kind == "noop" else "notifications"

    def make(self, count: int) -> list[list]:
        if self.kind == "noop":
            return [[] for _ in range(count)]
        from django.utils import timezone

        from ventanilla.notifications.models import OutboundMessage

        now = timezone.now()
        rows = [OutboundMessage(dedupe_key=f"{DEDUPE_PREFIX}{uuid.uuid4().hex}",
                                recipient="persona@example.cl", subject=self.subject,
                                body_text=self.body, created_at=now, next_attempt_at=now)
                for _ in range(count)]
        ids = []
        for start in range(0, count, FILL_BATCH):
            created = OutboundMessage.objects.bulk_create(rows[start:start + FILL_BATCH])
            ids += [row.pk for row in created]
        if len(ids) != count or None in ids:  # SQLite before 3.35 returns no ids
            ids = list(OutboundMessage.objects.filter(dedupe_key__in=[r.dedupe_key for r in rows])
                       .values_list("pk", flat=True))
        return [[message_id] for message_id in ids]


class DatabaseQueue:
    """django_tasks_db's table: filled in bulk with exactly the rows its ``enqueue`` writes."""

    name = "database"

    def __init__(self, payloads: Payloads) -> None:
        self.payloads = payloads

    def _ours(self):
        from django_tasks_db.models import DBTaskResult

        return DBTaskResult.objects.filter(task_path=self.payloads.task_path,
                                           backend_name="default")

    def waiting(self) -> int:
        return self._ours().filter(status="READY").count()

    def finished(self) -> int:
        return self._ours().filter(status__in=["SUCCESSFUL", "FAILED"]).count()

    def failed(self) -> int:
        return self._ours().filter(status="FAILED").count()

    def add(self, count: int) -> None:
        from django_tasks.utils import normalize_json
        from django_tasks_db.models import DBTaskResult, get_date_max

        for start in range(0, count, FILL_BATCH):
            args = self.payloads.make(min(FILL_BATCH, count - start))
            DBTaskResult.objects.bulk_create([
                DBTaskResult(id=uuid.uuid4(), args_kwargs=normalize_json({"args": a,
                                                                          "kwargs": {}}),
                             priority=0, task_path=self.payloads.task_path,
                             queue_name=self.payloads.queue_name, run_after=get_date_max(),
                             backend_name="default")
                for a in args
            ])

    def clear_waiting(self) -> None:
        self._ours().filter(status="READY").delete()

    def clear_finished(self) -> None:
        self._ours().exclude(status="READY").delete()

    def finish_times(self) -> list[float]:
        return sorted(at.timestamp() for at in self._ours().filter(
            status__in=["SUCCESSFUL", "FAILED"]).values_list("finished_at", flat=True))

    def cleanup(self) -> None:
        self._ours().delete()

    def explain_claim(self) -> dict | None:
        """EXPLAIN ANALYZE of the query db_worker claims a task with (rolled back)."""
        from django.db import connection, transaction
        from django_tasks_db.models import DBTaskResult

        if connection.vendor != "postgresql":
            return None
        queues = ["default", "notifications"]
        query = (DBTaskResult.objects.ready().filter(backend_name="default")
                 .filter(queue_name__in=queues).select_for_update(skip_locked=True)
                 .order_by(*DBTaskResult._meta.ordering)[:1])
        with transaction.atomic(), connection.cursor() as cursor:
            sql, params = query.query.sql_with_params()
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + sql, params)
            plan = cursor.fetchone()[0][0]
            transaction.set_rollback(True)
        node = plan["Plan"]
        nodes = []
        while node:
            nodes.append(node["Node Type"] + (f" on {node['Index Name']}"
                                              if "Index Name" in node else ""))
            node = (node.get("Plans") or [None])[0]
        return {"plan": " > ".join(nodes), "execution_ms": plan["Execution Time"],
                "waiting": self.waiting()}


class RedisQueue:
    """django-tasks-rq's queues: filled through a pipeline with the jobs its ``enqueue``
    makes (same job class, callbacks and meta)."""

    name = "rq"

    def __init__(self, payloads: Payloads, redis_server: RedisServer) -> None:
        import django_rq
        from django_tasks_rq.backend import Job

        self.payloads = payloads
        self.redis = redis_server
        self.queue = django_rq.get_queue(payloads.queue_name, job_class=Job)

    def waiting(self) -> int:
        return self.queue.count

    def finished(self) -> int:
        return self.queue.finished_job_registry.count + self.queue.failed_job_registry.count

    def failed(self) -> int:
        return self.queue.failed_job_registry.count

    def add(self, count: int) -> None:
        from django_tasks.utils import get_random_id
        from django_tasks_rq.backend import failed_callback, success_callback
        from rq.job import Callback

        for start in range(0, count, FILL_BATCH):
            args = self.payloads.make(min(FILL_BATCH, count - start))
            self.queue.enqueue_many([
                self.queue.prepare_data(self.payloads.task_path, args=a, kwargs={},
                                        job_id=get_random_id(),
                                        on_success=Callback(success_callback),
                                        on_failure=Callback(failed_callback),
                                        meta={"backend_name": "default"})
                for a in args
            ])

    def clear_waiting(self) -> None:
        self.queue.empty()

    def clear_finished(self) -> None:
        for registry in (self.queue.finished_job_registry, self.queue.failed_job_registry):
            for job_id in registry.get_job_ids():
                registry.remove(job_id, delete_job=True)

    def finish_times(self) -> list[float]:
        job_ids = (self.queue.finished_job_registry.get_job_ids()
                   + self.queue.failed_job_registry.get_job_ids())
        pipe = self.redis.client.pipeline(transaction=False)
        for job_id in job_ids:
            pipe.hget(f"rq:job:{job_id}", "ended_at")
        times = []
        for value in pipe.execute():
            if value:
                at = datetime.strptime(value.decode(), "%Y-%m-%dT%H:%M:%S.%fZ")
                times.append(at.replace(tzinfo=UTC).timestamp())
        return sorted(times)

    def cleanup(self) -> None:
        self.clear_waiting()
        self.clear_finished()

    def explain_claim(self) -> None:
        return None


# --- the worker processes --------------------------------------------------------------------

def start_worker(backend: str, processes: int, env: dict, log_path: Path) -> subprocess.Popen:
    command = [sys.executable, "-m", "ventanilla", "worker", "--processes", str(processes),
               "--replay-every", "0", "--sweep-every", "0", "--rollup-every", "0",
               "--prune-every", "0"]
    log = log_path.open("ab")
    try:
        return subprocess.Popen(command, env={**env, "TASKS_BACKEND": backend}, cwd=ROOT,
                                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    finally:
        log.close()


def stop_worker(process: subprocess.Popen) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    with contextlib.suppress(ProcessLookupError):  # nothing of the group may outlive it
        os.killpg(process.pid, signal.SIGKILL)


def group_cpu_seconds(pgid: int) -> float:
    """User + system CPU seconds of the live processes in a process group (the worker, its
    task processes and RQ's scheduler), from /proc: the cost per task that does not depend
    on what else the machine is running."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, ValueError, IndexError):
            stat = (entry / "stat").read_text()
            fields = stat[stat.rindex(")") + 2:].split()
            if int(fields[2]) == pgid:
                total += int(fields[11]) + int(fields[12])
    return total / ticks


def measure(queue, *, depth: str, backlog: int, measure_count: int, processes: int,
            env: dict, log_path: Path, sink: SmtpSink | None) -> dict:
    """One measurement: fill the queue, start the workers, time ``measure_count`` tasks
    after a warm-up, stop the workers."""
    warmup = max(20, measure_count // 10)
    needed = warmup + measure_count
    queue.clear_finished()
    if depth == "empty":
        queue.clear_waiting()
        queue.add(needed)
    else:
        queue.add(max(0, backlog + needed - queue.waiting()))
    waiting_at_start = queue.waiting()
    sent_before = sink.received if sink else 0
    progress(f"  {queue.name}/{queue.payloads.kind}: {processes} worker(s), "
             f"{waiting_at_start} waiting")
    process = start_worker(queue.name, processes, env, log_path)
    started = time.monotonic()
    timed_out = False
    cpu_marks = []  # (tasks finished, CPU seconds) when the window opens and closes
    try:
        while (finished := queue.finished()) < needed:
            if process.poll() is not None:
                raise RuntimeError(f"the worker exited ({process.returncode}); see {log_path}")
            if time.monotonic() - started > RUN_TIMEOUT:
                timed_out = True
                break
            if not cpu_marks and finished >= warmup:
                cpu_marks.append((finished, group_cpu_seconds(process.pid)))
            time.sleep(0.25)
        cpu_marks.append((queue.finished(), group_cpu_seconds(process.pid)))
    finally:
        stop_worker(process)
    times = queue.finish_times()
    result = {"workers": processes, "depth": depth, "waiting_at_start": waiting_at_start,
              "finished": len(times), "failed": queue.failed(), "timed_out": timed_out}
    if len(times) > warmup + 1:
        window = times[warmup:needed]
        elapsed = window[-1] - window[0]
        result["measured"] = len(window) - 1
        result["per_second"] = round((len(window) - 1) / elapsed, 1) if elapsed > 0 else None
    if len(cpu_marks) == 2 and cpu_marks[1][0] > cpu_marks[0][0]:
        result["worker_cpu_ms_per_task"] = round(
            1000 * (cpu_marks[1][1] - cpu_marks[0][1]) / (cpu_marks[1][0] - cpu_marks[0][0]), 2)
    if sink is not None:
        result["emails_received"] = sink.received - sent_before
    result["waiting_at_end"] = queue.waiting()
    return result


def main() -> None:
    args = parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="ventanilla-bench-queue-"))
    # The benchmark process enqueues into both backends: with TASKS_BACKEND=rq its settings
    # carry django-rq's apps and queues (the database backend's tables are always there).
    os.environ["TASKS_BACKEND"] = "rq"
    backends = [name for name in args.backends.split(",") if name]
    kinds = [name for name in args.kinds.split(",") if name]
    worker_counts = [int(count) for count in args.workers.split(",") if count]

    redis_server = None
    notes = []
    if "rq" in backends:
        try:
            redis_server = RedisServer(scratch)
            os.environ["REDIS_URL"] = redis_server.url
        except (FileNotFoundError, OSError) as error:
            notes.append(f"Redis queue skipped: no redis-server ({error})")
            backends.remove("rq")

    from bench.common import setup_django

    sqlite_scratch = setup_django()  # a throw-away SQLite folder without DATABASE_URL
    os.environ.pop("TASKS_BACKEND")
    report: dict = {"benchmark": "task queue under backlog", "environment": environment(),
                    "sizes": {"backlog": args.backlog, "measure_noop": args.measure_noop,
                              "measure_delivery": args.measure_delivery,
                              "workers": worker_counts},
                    "notes": notes}
    if redis_server is not None:
        report["environment"]["redis"] = redis_server.version
        report["environment"]["redis_persistence"] = redis_server.persistence

    sink = SmtpSink()
    env = {**os.environ, "EMAIL_HOST": "127.0.0.1", "EMAIL_PORT": str(sink.port),
           "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
           "PYTHONUNBUFFERED": "1", "PYTHONPATH": os.pathsep.join([str(ROOT / "src"),
                                                                    str(ROOT)])}
    queues = []
    try:
        _subject, body = message_text()
        progress("SMTP sink alone…")
        report["smtp_sink_alone"] = [time_sink_alone(sink, args.sink_messages, senders, body)
                                     for senders in sorted({1, *worker_counts})]
        rates: list[dict] = []
        claim_plans: dict = {}
        redis_memory: dict = {}
        for backend in backends:
            for kind in kinds:
                payloads = Payloads(kind)
                queue = (DatabaseQueue(payloads) if backend == "database"
                         else RedisQueue(payloads, redis_server))
                queues.append(queue)
                measure_count = args.measure_noop if kind == "noop" else args.measure_delivery
                for depth in ("empty", "backlog"):
                    for processes in worker_counts:
                        result = measure(
                            queue, depth=depth, backlog=args.backlog,
                            measure_count=measure_count, processes=processes, env=env,
                            log_path=scratch / f"worker-{backend}-{kind}.log",
                            sink=sink if kind == "delivery" else None)
                        rates.append({"backend": backend, "kind": kind, **result})
                        progress(f"    {result.get('per_second')} tasks/s")
                    if depth == "backlog":
                        if backend == "database":
                            claim_plans[kind] = queue.explain_claim()
                        else:
                            before = redis_server.used_memory()
                            queue.clear_waiting()
                            after = redis_server.used_memory()
                            redis_memory[kind] = {
                                "bytes_per_waiting_job": round((before - after)
                                                               / max(1, args.backlog))}
                queue.cleanup()
        report["rates"] = rates
        report["backlog_over_empty"] = ratios(rates)
        # The same ratio for the worker CPU per task, which other load on the machine
        # disturbs far less than the rate (above 1: a task costs more with the backlog).
        report["cpu_per_task_backlog_over_empty"] = ratios(rates, "worker_cpu_ms_per_task")
        report["database_claim_query_with_backlog"] = claim_plans
        if redis_memory:
            report["redis_memory"] = redis_memory
    finally:
        for queue in queues:
            with contextlib.suppress(Exception):
                queue.cleanup()
        cleanup_outbox()
        sink.stop()
        if redis_server is not None:
            redis_server.stop()
        if args.keep_logs:
            progress(f"worker logs in {scratch}")
        else:
            shutil.rmtree(scratch, ignore_errors=True)
        if sqlite_scratch:
            shutil.rmtree(sqlite_scratch, ignore_errors=True)
    emit(report)


def ratios(rates: list[dict], figure: str = "per_second") -> dict:
    by_key = {(r["backend"], r["kind"], r["workers"], r["depth"]): r.get(figure)
              for r in rates}
    out = {}
    for (backend, kind, workers, depth), rate in by_key.items():
        if depth != "backlog":
            continue
        empty = by_key.get((backend, kind, workers, "empty"))
        if rate and empty:
            out[f"{backend}/{kind}/{workers}w"] = round(rate / empty, 2)
    return out


def cleanup_outbox() -> None:
    from ventanilla.notifications.models import OutboundMessage

    OutboundMessage.objects.filter(dedupe_key__startswith=DEDUPE_PREFIX).delete()


if __name__ == "__main__":
    main()
